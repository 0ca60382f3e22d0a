"""The public API: every exported name resolves, and `import dareu` stays cheap (no torch)."""

import subprocess
import sys

import attributors
import dareu


def test_every_exported_name_resolves():
    for name in dareu.__all__:
        assert getattr(dareu, name) is not None, name
    assert dareu.DareU is dareu.DareUModule
    assert issubclass(dareu.NPO, dareu.LossUnlearnMethod)
    assert issubclass(dareu.LossUnlearnMethod, dareu.UnlearnMethod)
    for name in attributors.__all__:
        assert getattr(attributors, name) is not None, name


def test_unknown_name_is_an_attribute_error():
    try:
        dareu.NoSuchThing  # noqa: B018
    except AttributeError as e:
        assert "NoSuchThing" in str(e)
    else:
        raise AssertionError("dareu.NoSuchThing resolved")


def test_import_dareu_loads_no_torch():
    code = ("import sys, dareu; "
            "print(sorted(m for m in ('torch', 'transformers', 'lightning') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
