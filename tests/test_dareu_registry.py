"""dareu.registry: names → classes by decorator, built-in module, entry point or import path, and
errors that name the recipe field and the closest name."""

import importlib
import sys

import pytest

from dareu.errors import ConfigError, DareUError
from dareu.registry import Registry, did_you_mean, import_object


WIDGETS = """
class Base:
    name = ""


class Other:
    pass


class Square(Base):
    pass
"""


@pytest.fixture
def widgets(tmp_path, monkeypatch):
    """A module of classes an import path can name (a fresh import in every test)."""
    (tmp_path / "reg_widgets.py").write_text(WIDGETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "reg_widgets", raising=False)
    return importlib.import_module("reg_widgets")


def _registry(widgets, **kw) -> Registry:
    reg = Registry("widget", "widgets.name", base=widgets.Base, **kw)

    @reg.register("round")
    class Round(widgets.Base):
        pass

    return reg


def test_decorator_and_lookup_by_name(widgets):
    reg = _registry(widgets)
    cls = reg.get("round")
    assert cls.name == "round" and reg.names() == ["round"]


def test_unknown_name_says_the_field_the_closest_and_all_names(widgets):
    with pytest.raises(ConfigError) as e:
        _registry(widgets).get("rund")
    msg = str(e.value)
    assert msg.startswith("widgets.name: unknown widget 'rund'. Did you mean 'round'? Available: round")
    assert "package.module:Class" in msg
    with pytest.raises(ConfigError, match=r"^widgets=\['rund'\] is invalid: unknown widget"):
        _registry(widgets).get("rund", "widgets", ["rund"])


def test_import_path_registers_under_it_and_keeps_a_registered_name(widgets):
    reg = _registry(widgets)
    assert reg.get("reg_widgets:Square") is widgets.Square
    assert widgets.Square.name == "reg_widgets:Square" and "reg_widgets:Square" in reg.names()
    widgets.Round = reg.get("round")
    assert reg.get("reg_widgets:Round") is widgets.Round and widgets.Round.name == "round"


@pytest.mark.parametrize("path,match", [
    ("reg_widgets:Other", r"`reg_widgets:Other` resolves to .*Other.*not a subclass of reg_widgets\.Base"),
    ("no_such_pkg_xyz.mod:Thing", r"cannot import module `no_such_pkg_xyz.mod` .*imports:"),
    ("reg_widgets:Nope", r"module `reg_widgets` has no `Nope`")])
def test_bad_import_paths(widgets, path, match):
    with pytest.raises(ConfigError, match=r"widgets\.name: " + match):
        _registry(widgets).get(path)


def test_builtins_are_imported_on_first_lookup_only(widgets):
    reg = _registry(widgets, builtins={"json": "tests.no_such_builtin_module"})
    assert reg.names() == ["json", "round"]  # listed without importing
    with pytest.raises(ConfigError, match="cannot import module `tests.no_such_builtin_module`"):
        reg.get("json")


def test_error_class_and_import_object(widgets):
    class WidgetError(DareUError):
        pass

    with pytest.raises(WidgetError):
        _registry(widgets, error=WidgetError).get("square")
    assert import_object("collections.OrderedDict", "x", dotted=True).__name__ == "OrderedDict"
    with pytest.raises(ConfigError, match=r"^cb\[0\]='OrderedDict' is invalid: expected an import"):
        import_object("OrderedDict", "cb[0]", shown="OrderedDict", dotted=True)
    assert did_you_mean("npoo", ["npo", "kl"]) == " Did you mean 'npo'?"
    assert did_you_mean("zzz", ["npo"]) == ""


def test_every_builtin_method_is_listed():
    """The methods registry lists its built-ins without importing them: the list must be whole."""
    from dareu.modules.registry import METHODS

    for module in set(METHODS.builtins.values()):
        importlib.import_module(module)
    registered = {n for n, c in METHODS.classes.items() if c.__module__.startswith("dareu.modules")}
    assert registered == set(METHODS.builtins)
