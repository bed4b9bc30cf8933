"""Set up the lab database with proteus, as an ERP partner would for a shop:
a company, a fiscal year with invoice sequences, a chart of accounts, a
salable product and a user for the monitors with only the rights a webshop
integration gets. Runs inside Tryton's own virtual environment (see
tryton_lab.py); the database comes from the TRYTOND_DATABASE__* environment.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal

from proteus import Model, Wizard, config
from trytond.modules.account.tests.tools import create_chart, create_fiscalyear, get_accounts
from trytond.modules.account_invoice.tests.tools import set_fiscalyear_invoice_sequences
from trytond.modules.company.tests.tools import create_company, get_company

# What a webshop integration needs: sales, parties and reading products.
MONITOR_GROUPS = ("Sales", "Sales Administrator", "Party Administration", "Product Administration")


def main(database: str) -> None:
    config.set_trytond(database)

    Module = Model.get("ir.module")
    Module.click(
        Module.find([("name", "in", ["sale", "party", "product", "account_invoice"])]), "activate"
    )
    Wizard("ir.module.activate_upgrade").execute("upgrade")

    Currency = Model.get("currency.currency")
    euro = Currency(name="Euro", symbol="€", code="EUR", rounding=Decimal("0.01"), digits=2)
    euro.save()
    Party = Model.get("party.party")
    _ = create_company(party=Party(name="Brasserie Supplies NV"), currency=euro)
    company = get_company()
    fiscalyear = set_fiscalyear_invoice_sequences(create_fiscalyear(company))
    fiscalyear.click("create_period")
    _ = create_chart(company)
    accounts = get_accounts(company)

    Country = Model.get("country.country")
    Country(name="Belgium", code="BE").save()

    (unit,) = Model.get("product.uom").find([("name", "=", "Unit")])
    category = Model.get("product.category")(name="Furniture", accounting=True)
    category.account_expense = accounts["expense"]
    category.account_revenue = accounts["revenue"]
    category.save()
    template = Model.get("product.template")(
        name="ATHENS Desk",
        default_uom=unit,
        type="service",
        salable=True,
        list_price=Decimal("1000.80"),
        account_category=category,
        code="1896",
    )
    template.save()
    # A product's code is the template's prefix plus its own suffix.
    (product,) = template.products
    product.suffix_code = "-S"
    product.save()

    # Customers pay within 30 days, as the shop's B2B terms say.
    PaymentTerm = Model.get("account.invoice.payment_term")
    term = PaymentTerm(name="30 days")
    line = term.lines.new(type="remainder")
    line.relativedeltas.new(days=30)
    term.save()

    User = Model.get("res.user")
    Group = Model.get("res.group")
    monitor = User(name="erpwatch monitor", login="erpwatch")
    monitor.password = os.environ["ERPWATCH_MONITOR_PASSWORD"]
    for name in MONITOR_GROUPS:
        monitor.groups.append(Group.find([("name", "=", name)])[0])
    monitor.companies.append(Model.get("company.company")(company.id))
    monitor.company = company
    monitor.save()


if __name__ == "__main__":
    main(sys.argv[1])
