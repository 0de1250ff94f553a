from configparser import ConfigParser
import setuptools, shlex

# note: all settings are in settings.ini; edit there, not here
config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
jd_requirements = shlex.split(cfg.get('jd_requirements', ''))   # `pip install 'ltmoo[jd]'`: torchjd's aggregators
min_python = cfg['min_python']
setuptools.setup(
    name = cfg['lib_name'],
    license = 'Apache Software License 2.0',
    classifiers = ['Intended Audience :: Science/Research', 'Natural Language :: English',
                   'License :: OSI Approved :: Apache Software License',
                   'Programming Language :: Python :: 3.11'],
    url = cfg['git_url'],
    packages = setuptools.find_packages(include=['ltmoo', 'ltmoo.*']),
    include_package_data = True,
    install_requires = requirements,
    extras_require = {'dev': dev_requirements, 'jd': jd_requirements},
    python_requires = '>=' + min_python,
    long_description = open('README.md', encoding='utf-8').read(),
    long_description_content_type = 'text/markdown',
    zip_safe = False,
    entry_points = {
        'console_scripts': [f'{cfg["console_scripts"].split("=")[0]}={cfg["console_scripts"].split("=")[1]}'],
        'nbdev': [f'{cfg["lib_name"]}={cfg["lib_name"]}._modidx:d'],
    },
    version = cfg['version'],
    description = cfg['description'],
    author = cfg['author'],
    author_email = cfg['author_email'],
)
