"""The pytest plugin: wiring only. Options, ini keys and the marker are
declared here; an active monitoring run registers a `MonitorRun`, whose
methods are the hooks, and the fixtures module."""

from __future__ import annotations

from typing import Any

import pytest

from ._activation import Activation, activate

pytest_plugins = ["erpwatch.fixtures"]

ACTIVATION_KEY = pytest.StashKey[Activation]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("erpwatch", "erpwatch synthetic monitoring")
    group.addoption(
        "--erpwatch-config",
        metavar="PATH",
        help="the erpwatch config file (default: erpwatch.toml in the rootdir, or $ERPWATCH_CONFIG)",
    )
    group.addoption(
        "--erpwatch-summary",
        metavar="PATH",
        help="where to write the run result as JSON (default: <reports>/summary.json)",
    )
    group.addoption(
        "--erpwatch-processes",
        metavar="NAMES",
        help="run only the monitors of these processes, comma-separated (or $ERPWATCH_PROCESSES)",
    )
    group.addoption(
        "--erpwatch-dry-run",
        action="store_true",
        help="compose mail into the outbox without sending, and leave the alert state as it was",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-html reads --html, which we may default
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "process(name, critical=None): the business process this monitor guards "
        "(declared in erpwatch.toml); critical=True alerts on the first failure",
    )
    config.addinivalue_line(
        "markers",
        "leaves_records(reason): the monitor leaves records that cannot be removed "
        "(a posted invoice); it runs only where erpwatch.environment is sandbox or test",
    )
    activation = activate(config)
    config.stash[ACTIVATION_KEY] = activation
    if activation.run is not None:
        config.pluginmanager.register(activation.run, "erpwatch-run")
        activation.run.start()
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistWiring(activation), "erpwatch-xdist")


def pytest_unconfigure(config: pytest.Config) -> None:
    activation = config.stash.get(ACTIVATION_KEY, None)
    if activation is not None:
        activation.close()


class XdistWiring:
    """Hands the controller's sandbox and run id to every xdist worker."""

    def __init__(self, activation: Activation) -> None:
        self.activation = activation

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["erpwatch"] = self.activation.for_workers().to_json()
        if self.activation.run is not None:
            self.activation.run.workers.add(node)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        if self.activation.run is not None:
            self.activation.run.workers.down(node)
