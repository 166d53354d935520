"""The plugin manager: selection by name, tiers, first result, blocking, dependents, loading errors."""

from __future__ import annotations

import ast
import inspect
import logging
from pathlib import Path
from typing import Any

import pluggy
import pytest

import kernel
from kernel import hookimpl
from kernel.api import KernelAPI
from kernel.hookspecs import HOOKSPEC_CLASSES
from kernel.manager import Kernel, build_plugin_manager
from kernel.settings import load_settings
from kernel.settingspec import collect_declarations
from kernel.types import (
    BatchStatus,
    Company,
    ConfigError,
    LocalBatch,
    NoProviderError,
    PluginLoadError,
    ResultFiles,
)
from plugins.common import calls
from plugins.core_commands.listing import describe_plugins

BASE = {"database.url": "sqlite:///unused.db", "plugins.autoload": False}


def settings(**overrides: Any) -> Any:
    """Settings with test overrides (dotted keys given with __)."""
    return load_settings(BASE | {k.replace("__", "."): v for k, v in overrides.items()})


class MisnamedHealthCheck:
    """Implements ``health_checks`` with an argument the hook does not have."""

    @hookimpl
    def health_checks(self, kernel: KernelAPI, remotely: bool) -> list[Any]:
        return []


class FixedCompanies:
    """A processor-tier answer for get_companies."""

    @hookimpl
    def get_companies(self, kernel: KernelAPI) -> list[Company]:
        return [Company("c9", "Fixed")]


class Declines:
    """Answers None: not mine."""

    @hookimpl
    def get_companies(self, kernel: KernelAPI) -> None:
        return None


class CacheTier:
    """A tryfirst answer, like a cache hit."""

    @hookimpl(tryfirst=True)
    def get_companies(self, kernel: KernelAPI) -> list[Company]:
        return [Company("cached", "Cached")]


class WrongType:
    """Breaks the contract."""

    @hookimpl
    def get_companies(self, kernel: KernelAPI) -> str:
        return "not a list"


class WrongRoutes:
    """Answers ``route_companies`` first, with the wrong type."""

    @hookimpl(tryfirst=True)
    def route_companies(self, kernel: KernelAPI, companies: Any) -> list[str]:
        return ["openai"]


class ExplodingExporter:
    """An exporter that raises on every metric."""

    @hookimpl
    def record_metric(self, kernel: KernelAPI, metric: Any) -> None:
        raise RuntimeError("collector down")


class UnknownHook:
    """Implements a hook no spec declares."""

    @hookimpl
    def get_compnies(self, kernel: KernelAPI) -> list[Any]:
        return []


def test_builtins_registered_and_original_answers_last() -> None:
    pm, registry = build_plugin_manager(settings())
    names = {info.name: info for info in registry}
    assert {"original", "openai", "emulator"} <= set(names)
    impls = pm.hook.get_companies.get_hookimpls()
    assert [impl.plugin_name for impl in impls if impl.trylast] == ["original"]


@pytest.mark.parametrize("order", ["fixed-first", "fixed-last"])
def test_first_result_does_not_depend_on_registration_order(order: str, sqlite_url: str) -> None:
    plugins = [("fixed", FixedCompanies()), ("declines", Declines())]
    if order == "fixed-last":
        plugins.reverse()
    kernel = Kernel.create(load_settings(BASE | {"database.url": sqlite_url}), extra=plugins)
    assert kernel.get_companies() == [Company("c9", "Fixed")]
    kernel_with_cache = Kernel.create(
        load_settings(BASE | {"database.url": sqlite_url}),
        extra=[*plugins, ("cache", CacheTier())],
    )
    assert kernel_with_cache.get_companies() == [Company("cached", "Cached")]


def test_none_falls_through_to_the_original(make_kernel: Any, sqlite_url: str) -> None:
    kernel = make_kernel(sqlite_url, extra=[("declines", Declines())])
    assert kernel.get_companies() == []


def test_facade_checks_result_types(sqlite_url: str) -> None:
    kernel = Kernel.create(
        load_settings(BASE | {"database.url": sqlite_url}), extra=[("wrong", WrongType())]
    )
    with pytest.raises(TypeError, match="get_companies"):
        kernel.get_companies()


def test_no_provider_is_a_clear_error(sqlite_url: str) -> None:
    kernel = Kernel.create(load_settings(BASE | {"database.url": sqlite_url}))
    kernel.pm.unregister(name="openai")
    batch = LocalBatch("b1", "c1", BatchStatus.IN_PROGRESS, "key", "batch_1")
    with pytest.raises(NoProviderError, match="poll_batch"):
        kernel.poll_batch(batch)


def test_the_calls_between_plugins_name_what_nobody_answered(sqlite_url: str) -> None:
    """The typed calls of the hooks plugins call of each other check answers as the facade does."""
    kernel = Kernel.create(load_settings(BASE | {"database.url": sqlite_url}))
    with pytest.raises(NoProviderError, match="'request_encoder' for provider 'nobody'"):
        calls.request_encoder(kernel, "nobody", "gpt-4o-mini")
    batch = LocalBatch("b1", "c1", BatchStatus.COMPLETED, "key", "batch_1", provider="nobody")
    with pytest.raises(NoProviderError, match=r"'read_results' for provider 'nobody' \(batch b1\)"):
        calls.read_results(kernel, batch, ResultFiles(None, None))
    assert calls.provider_limits(kernel, "openai").max_requests > 0
    kernel.pm.register(WrongRoutes(), name="wrong")
    with pytest.raises(TypeError, match="'route_companies' must return <class 'dict'>"):
        calls.route_companies(kernel, [Company("a", "A")])


@pytest.mark.usefixtures("fake_distribution")
def test_unknown_plugin_name_lists_valid_names() -> None:
    with pytest.raises(ConfigError) as info:
        build_plugin_manager(settings(plugins__processor="optimised"))
    message = str(info.value)
    assert "'optimised'" in message and "original" in message and "fake-ok" in message


def test_unknown_hook_fails_check_pending() -> None:
    with pytest.raises(pluggy.PluginValidationError):
        build_plugin_manager(settings(), extra=[("typo", UnknownHook())])


@pytest.mark.usefixtures("fake_distribution")
def test_broken_third_party_is_reported_and_the_rest_load(caplog: Any) -> None:
    caplog.set_level(logging.WARNING, "batchkernel.plugins")
    pm, registry = build_plugin_manager(settings(plugins__autoload=True))
    infos = {info.name: info for info in registry}
    broken = infos["fake-broken"]
    assert broken.status == "failed"
    assert "batchkernel-fake" in broken.reason and "1.2.3" in broken.reason
    assert "ImportError" in broken.reason
    assert infos["fake-ok"].status == "enabled" and pm.get_plugin("fake-ok") is not None
    assert infos["fake-dependent"].status == "enabled"
    assert any("fake-broken" in record.message for record in caplog.records)


@pytest.mark.usefixtures("fake_distribution")
def test_strict_loading_stops_on_a_broken_plugin() -> None:
    with pytest.raises(PluginLoadError, match="fake-broken"):
        build_plugin_manager(settings(plugins__autoload=True, plugins__strict=True))


@pytest.mark.usefixtures("fake_distribution")
def test_disabling_a_plugin_disables_its_dependents() -> None:
    pm, registry = build_plugin_manager(
        settings(plugins__autoload=True, plugins__disabled=["fake-ok", "fake-broken"])
    )
    infos = {info.name: info for info in registry}
    assert infos["fake-ok"].status == "disabled"
    assert infos["fake-dependent"].status == "disabled"
    assert "requires disabled plugin fake-ok" in infos["fake-dependent"].reason
    assert pm.get_plugin("fake-dependent") is None and pm.is_blocked("fake-dependent")


def test_essential_plugin_cannot_be_disabled() -> None:
    with pytest.raises(ConfigError, match="essential"):
        build_plugin_manager(settings(plugins__disabled=["original"]))


@pytest.mark.usefixtures("fake_distribution")
def test_selected_third_party_plugin_loads_without_autoload() -> None:
    pm, _ = build_plugin_manager(settings(plugins__exporters=["fake-ok"]))
    assert pm.get_plugin("fake-ok") is not None
    assert pm.get_plugin("fake-broken") is None


@pytest.mark.usefixtures("fake_distribution")
def test_metrics_reach_every_exporter_and_a_failing_one_is_contained(sqlite_url: str) -> None:
    kernel = Kernel.create(
        load_settings(BASE | {"database.url": sqlite_url, "plugins.exporters": ["fake-ok"]}),
        extra=[("exploding", ExplodingExporter())],
    )
    kernel.metric("batchkernel.test", 3, unit="{request}", company="c1")
    recorder = kernel.pm.get_plugin("fake-ok")
    assert recorder is not None
    assert [(m.name, m.value, dict(m.attributes)) for m in recorder.metrics] == [
        ("batchkernel.test", 3.0, {"company": "c1"})
    ]


@pytest.mark.usefixtures("fake_distribution")
def test_describe_plugins_lists_loaded_and_available(sqlite_url: str) -> None:
    kernel = Kernel.create(load_settings(BASE | {"database.url": sqlite_url}))
    infos = {info.name: info for info in describe_plugins(kernel)}
    assert infos["original"].status == "enabled" and "fetch_pending" in infos["original"].hooks
    assert infos["fake-ok"].status == "available" and infos["fake-ok"].version == "1.2.3"


def test_the_kernel_s_contract_is_the_pipeline_s_and_plugins_add_the_rest() -> None:
    """The task, exchange, routing, command, health, status-merge and benchmark hooks are
    specified by the libraries that call them, yet every plugin manager checks their
    implementations."""
    kernel_hooks = {name for spec in HOOKSPEC_CLASSES for name in vars(spec) if name[0] != "_"}
    added = {"register_commands", "explain_error", "health_checks", "describe_setup"}
    added |= {"merge_status", "benchmark_probes", "register_tasks", "task_problems"}
    added |= {"provider_limits", "request_encoder", "read_results", "route_companies"}
    added |= {"companies_changed", "work_left"}
    assert not added & kernel_hooks
    pm, _ = build_plugin_manager(settings())
    for name in added:
        assert getattr(pm.hook, name).spec is not None, name
    with pytest.raises(pluggy.PluginValidationError, match="health_checks"):
        build_plugin_manager(settings(), extra=[("typo", MisnamedHealthCheck())])


class _HookUses(ast.NodeVisitor):
    """Names a kernel module uses as attributes (``pm.hook.x``, ``kernel.x()``) or strings
    (``"x"``), outside the facade's pass-throughs, the core plugin's answers and the facade
    methods ``_first_result`` generates; docstrings are statements, not uses."""

    def __init__(self, hooks: set[str]) -> None:
        self.hooks = hooks
        self.used: set[str] = set()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for item in node.body:
            passes = isinstance(item, ast.FunctionDef) and item.name in self.hooks
            if not (node.name in ("Kernel", "CorePlugin") and passes):
                self.visit(item)

    def visit_Call(self, node: ast.Call) -> None:
        if not (isinstance(node.func, ast.Name) and node.func.id == "_first_result"):
            self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not isinstance(node.value, ast.Constant):
            self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.used.add(node.attr)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.used.add(node.value)


def test_every_hook_the_kernel_specifies_the_kernel_calls() -> None:
    """A hook only plugins call belongs to the plugins' library that calls it (declared through
    ``declare_hookspecs``), not to the kernel's contract: each of the kernel's hooks is used by
    kernel code other than the facade method that passes it through under its own name."""
    hooks = {name for spec in HOOKSPEC_CLASSES for name in vars(spec) if name[0] != "_"}
    uses = _HookUses(hooks)
    for path in Path(kernel.__file__).parent.rglob("*.py"):
        if path.name not in ("hookspecs.py", "api.py"):
            uses.visit(ast.parse(path.read_text()))
    assert sorted(hooks - uses.used) == []


def test_the_facade_keeps_the_hooks_signatures() -> None:
    """``KernelAPI`` repeats each kernel hook as a typed method: the same parameters in the same
    order with the same types (less ``kernel``), answering the hook's type less its ``None``."""
    renamed = {"configured_providers": "providers", "record_metric": "metric", "shutdown": "close"}
    declarations = {"declare_settings", "migration_locations", "declare_hookspecs"}
    for spec in HOOKSPEC_CLASSES:
        for name, hook in vars(spec).items():
            if name.startswith("_") or name in declarations:
                continue
            if name in renamed:
                assert hasattr(KernelAPI, renamed[name]), name
                continue
            method = getattr(KernelAPI, name, None)
            assert method is not None, f"no KernelAPI method for the hook {name}"
            specified = inspect.signature(hook).parameters
            offered = inspect.signature(method).parameters
            expected = [(p.name, p.annotation) for p in specified.values() if p.name != "kernel"]
            assert [(p.name, p.annotation) for p in offered.values()] == expected, name
            answer = inspect.signature(method).return_annotation
            assert inspect.signature(hook).return_annotation in (answer, f"{answer} | None"), name


class KeepsOne:
    """Answers the fake distribution's own hook."""

    @hookimpl
    def kept_metrics(self, kernel: KernelAPI) -> list[str]:
        return ["batchkernel.kept"]


class KeepsWithATypo:
    """Implements the fake distribution's hook with an argument it does not have."""

    @hookimpl
    def kept_metrics(self, kernal: KernelAPI) -> list[str]:
        return []


@pytest.mark.usefixtures("fake_distribution")
def test_a_third_party_plugin_adds_a_hook_of_its_own(sqlite_url: str) -> None:
    overrides = BASE | {"database.url": sqlite_url, "plugins.exporters": ["fake-ok"]}
    kernel = Kernel.create(load_settings(overrides), extra=[("keeps-one", KeepsOne())])
    kernel.metric("batchkernel.kept", 1)
    kernel.metric("batchkernel.dropped", 1)
    recorder = kernel.pm.get_plugin("fake-ok")
    assert recorder is not None
    assert [metric.name for metric in recorder.metrics] == ["batchkernel.kept"]
    with pytest.raises(pluggy.PluginValidationError, match="kernal"):
        build_plugin_manager(settings(), extra=[("typo", KeepsWithATypo())])


class BadDeclarations:
    """A third-party plugin whose declaration hooks answer with the wrong shapes."""

    @hookimpl
    def declare_hookspecs(self) -> Any:
        return ["not a class"]

    @hookimpl
    def migration_locations(self) -> Any:
        return "one/folder"


class FakeEntryPoint:
    """An installed plugin's entry point, as ``importlib.metadata`` gives it."""

    def __init__(self, plugin: Any) -> None:
        self.plugin = plugin

    def load(self) -> Any:
        return self.plugin


def test_a_third_party_plugin_s_bad_declarations_leave_it_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wrong answer from a third-party plugin is noted against it; the start goes on."""
    monkeypatch.setattr(
        "kernel.settingspec.third_party_entry_points",
        lambda: {"bad-declarations": FakeEntryPoint(BadDeclarations())},
    )
    declarations = collect_declarations()
    reason = declarations.failed["bad-declarations"]
    assert "must return a list of" in reason
    assert not [spec for spec in declarations.hookspecs if not isinstance(spec, type)]
    assert "one/folder" not in declarations.migrations
    assert build_plugin_manager(settings())[0].get_plugin("original") is not None


def test_declarations_are_read_once_per_set_of_installed_plugins(fake_distribution: Path) -> None:
    """Every kernel asks for the declarations as it starts: they are read once for the plugins
    installed, and again when another plugin is installed."""
    with_fake = collect_declarations()
    assert collect_declarations() is with_fake
    assert "fake-configured" in with_fake.plugins
    builtin_only = collect_declarations(third_party=False)
    assert builtin_only is not with_fake and "fake-configured" not in builtin_only.plugins
