"""The simple functions: each one is its manager method on the shared default instance."""

from __future__ import annotations

import inspect
import re
import types
from typing import Any
from unittest import mock

import pytest

import pystmark

#: Simple functions written out, and why: a send takes its message as a
#: required argument, where the sender's method may take it from the instance.
WRITTEN_OUT = {
    "send",
    "send_with_template",
    "send_batch",
    "send_batch_with_templates",
    "send_bulk",
    "send_bulk_with_template",
}

PUBLIC_FUNCTIONS = {
    name: value
    for name in pystmark.__all__
    if isinstance(value := getattr(pystmark, name), types.FunctionType)
}
GENERATED = {
    name: function
    for name, function in PUBLIC_FUNCTIONS.items()
    if isinstance(vars(function).get("__wrapped__"), types.MethodType)
}


def manager_method(function: Any) -> tuple[type[pystmark.Interface], str]:
    """The class and method name a generated function calls."""
    wrapped = function.__wrapped__
    return wrapped.__self__, wrapped.__func__.__name__


def without_self(method: Any) -> inspect.Signature:
    signature = inspect.signature(method)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def test_every_forwarding_function_is_generated() -> None:
    assert len(GENERATED) >= 80
    forwarding = {
        name
        for name, function in PUBLIC_FUNCTIONS.items()
        if name not in GENERATED and "_default(" in inspect.getsource(function)
    }
    assert forwarding == WRITTEN_OUT


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_a_generated_function_looks_like_its_method(name: str) -> None:
    function = GENERATED[name]
    cls, attribute = manager_method(function)
    assert issubclass(cls, pystmark.Interface)
    assert inspect.signature(function) == without_self(getattr(cls, attribute))
    assert function.__name__ == function.__qualname__ == name
    assert function.__module__ == "pystmark"
    assert function.__doc__ and function.__doc__.strip()
    assert "self" not in function.__annotations__


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_a_generated_function_calls_the_method_on_the_default_instance(name: str) -> None:
    function = GENERATED[name]
    cls, attribute = manager_method(function)
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            kwargs["timeout"] = 7.5
        elif parameter.default is parameter.empty:
            args.append(object())
        elif parameter.kind is parameter.KEYWORD_ONLY and not kwargs:
            kwargs[parameter.name] = object()
    with mock.patch.object(cls, attribute, autospec=True) as method:
        result = function(*args, **kwargs)
    method.assert_called_once_with(pystmark._default(cls), *args, **kwargs)
    assert result is method.return_value


def test_patching_a_method_on_the_class_patches_the_simple_function() -> None:
    # get_bounces calls BounceGetter.get_page (whose earlier name is get_bounces).
    with mock.patch.object(pystmark.BounceGetter, "get_page") as get_page:
        assert pystmark.get_bounces(count=3, api_key="token") is get_page.return_value
    get_page.assert_called_once_with(count=3, api_key="token")


def test_a_wrong_argument_fails_as_the_method_would() -> None:
    with pytest.raises(TypeError, match="tiemout"):
        pystmark.get_bounce(1, tiemout=3)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(WRITTEN_OUT))
def test_a_written_out_send_differs_from_its_method_only_by_a_required_message(
    name: str,
) -> None:
    function = PUBLIC_FUNCTIONS[name]
    source = inspect.getsource(function)
    cls_name, attribute = re.findall(r"_default\((\w+)\)\.(\w+)\(", source)[0]
    method = without_self(getattr(getattr(pystmark, cls_name), attribute))
    signature = inspect.signature(function)
    assert list(signature.parameters) == list(method.parameters)
    assert signature.return_annotation == method.return_annotation
    first = next(iter(method.parameters))
    assert method.parameters[first].default is None
    assert signature.parameters[first].default is inspect.Parameter.empty
