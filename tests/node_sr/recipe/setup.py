from setuptools import setup

setup(
    name="slapgate-node-sr",
    version="0.1",
    py_modules=["slapgate_node_sr"],
    entry_points={"zc.buildout": [
        "template = slapgate_node_sr:Template",
        "instance = slapgate_node_sr:Instance",
    ]},
)
