"""Package layout: the top-level folders ``generators/``, ``baselines/`` and ``leaderboards/`` are
installed as subpackages of ``dbdbench`` (see README.md, "Layout", and docs/contributing.md)."""

from setuptools import find_packages, setup

ROOTS = {
    "dbdbench": "dbdbench",
    "dbdbench.generators": "generators",
    "dbdbench.baselines": "baselines",
    "dbdbench.leaderboards": "leaderboards",
}

packages = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=ROOTS)
