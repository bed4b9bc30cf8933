"""The public API is what monitors need and nothing more: `erpwatch.__all__` is
pinned here, every name in it resolves, and the monitors import only erpwatch,
pytest and the standard library. A change to this list is a change to the
contract with every monitor author, and should be made on purpose."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import erpwatch

ROOT = Path(__file__).resolve().parent.parent

PUBLIC = [
    # settings and the clients of every party
    "Settings",
    "ConfigError",
    "ErpClient",
    "PaymentProviderClient",
    "PunchoutClient",
    "OciClient",
    "TrytonClient",
    # what a failed call raises: one base, one family per party
    "CallFailed",
    "ErpCallFailed",
    "ErpAuthFailed",
    "PaymentCallFailed",
    "PunchoutCallFailed",
    "TrytonCallFailed",
    "TrytonAuthFailed",
    # what a check raises
    "NotPersisted",
    "DataMismatch",
    "StatusMismatch",
    "PaymentsOutOfSync",
    "NotRemovable",
    # checks
    "expect_same_fields",
    "expect_document_totals",
    "wait_until",
    # test data and its removal
    "SyntheticData",
    "remove_entity",
    "remove_sale",
    "remove_party",
    "SALE_CONFIRMED_STATES",
    # payments
    "Payment",
    "ReferenceRules",
    "is_refunded",
    "read_provider",
    "reconcile",
    # punchout
    "OrderLine",
    "cart_lines",
    "purchase_order_number",
    "oci_problems",
    # website, API and certificate checks: the monitor a monitor file names test_url
    "url_monitor",
    "__version__",
]


def test_the_public_api_is_exactly_what_monitors_need() -> None:
    assert sorted(erpwatch.__all__) == sorted(PUBLIC)
    assert len(set(erpwatch.__all__)) == len(erpwatch.__all__)


def test_every_public_name_resolves_even_the_ones_imported_when_first_used() -> None:
    # In a fresh interpreter: this one may have imported every module already.
    code = (
        "import erpwatch\n"
        "missing = [n for n in erpwatch.__all__ if getattr(erpwatch, n, None) is None]\n"
        "print(','.join(missing))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_importing_erpwatch_leaves_the_heavy_clients_unimported() -> None:
    code = (
        "import sys, erpwatch\n"
        "print(','.join(m for m in ('lxml', 'erpwatch.punchout', 'erpwatch.tryton', "
        "'erpwatch.psp') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def _imports(path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(("." * node.level + (node.module or ""), node.lineno))
    return found


ALLOWED = {"erpwatch", "pytest", "__future__"} | set(sys.stdlib_module_names)


def _wrong_imports(path: Path) -> list[str]:
    """Imports of anything but erpwatch itself, pytest and the standard library."""
    return [
        f"{path.name}:{line} imports {module}"
        for module, line in _imports(path)
        if module != "erpwatch"
        and (module == "" or module.split(".")[0] not in ALLOWED - {"erpwatch"})
    ]


def test_monitors_import_only_erpwatch_pytest_and_the_standard_library() -> None:
    monitors = sorted((ROOT / "monitors").glob("*.py"))
    assert monitors
    assert [wrong for path in monitors for wrong in _wrong_imports(path)] == []


def test_the_import_check_sees_a_monitor_that_reaches_into_erpwatch(tmp_path: Path) -> None:
    # The check above must be able to fail: an internal module is not "erpwatch".
    monitor = tmp_path / "test_x.py"
    monitor.write_text(
        "import json\nfrom erpwatch.synthetic import remove_entity\nimport requests\n"
        "from . import helpers\nfrom erpwatch import ErpClient\n"
    )
    assert _wrong_imports(monitor) == [
        "test_x.py:2 imports erpwatch.synthetic",
        "test_x.py:3 imports requests",
        "test_x.py:4 imports .",
    ]


def test_the_contract_for_partner_packages_is_pinned_too() -> None:
    from erpwatch import extensions

    assert sorted(extensions.__all__) == sorted(
        [
            "CHANNELS",
            "DIALECTS",
            "Answer",
            "CallFailed",
            "Channel",
            "ChannelFailed",
            "Decoder",
            "ErpError",
            "ErpErrorKind",
            "ExtensionError",
            "Limits",
            "Notice",
            "answer_failed",
            "bounded_session",
            "check_installed",
            "installed_channels",
            "installed_dialects",
            "send",
        ]
    )
    assert (extensions.DIALECTS, extensions.CHANNELS) == ("erpwatch.dialects", "erpwatch.channels")
