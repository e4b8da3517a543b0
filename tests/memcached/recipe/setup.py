from setuptools import setup

setup(
    name="slapgate-memcached",
    version="0.1",
    py_modules=["slapgate_memcached"],
    entry_points={"zc.buildout": [
        "template = slapgate_memcached:Template",
        "instance = slapgate_memcached:Instance",
    ]},
)
