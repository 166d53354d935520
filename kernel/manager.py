"""The plugin manager, built per instance from settings, and the typed ``Kernel`` facade over its hooks.

Registration sequence: specs; blocked names; the original processor as the ``trylast``
default; the selected processor; fallback; ``plugins.provider`` and the plugins that sections'
values name (``routing.providers``); cache; exporters; plugins their sections' values ask for
(``otel``); enabled extras and autoloaded third-party plugins; ``check_pending()``. Which plugin
answers never depends on registration order, only on the tiers (``tryfirst`` cache, plain
selected processor, ``trylast`` original).
"""

from __future__ import annotations

import inspect
import logging
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import pluggy
from dynaconf import Dynaconf

from kernel import PluginManager
from kernel.api import KernelAPI
from kernel.catalog import (
    ALWAYS_REGISTERED,
    BUILTIN_PLUGINS,
    import_target,
    instantiate,
    third_party_entry_points,
)
from kernel.crashpoints import crashpoint
from kernel.hookspecs import HOOKSPEC_CLASSES
from kernel.settings import load_settings
from kernel.settingspec import Declarations, collect_declarations
from kernel.types import (
    ApplySummary,
    BatchPlan,
    Company,
    ConfigError,
    Metric,
    MetricKind,
    NoProviderError,
    PluginLoadError,
    ProviderBatch,
    ProviderHealth,
    ResultFiles,
    RetrySummary,
    SubmittedBatch,
)

if TYPE_CHECKING:
    from kernel.db.engine import Database

T = TypeVar("T")
R = TypeVar("R")
P = ParamSpec("P")

log = logging.getLogger("batchkernel.plugins")

ESSENTIAL = ("core", "original")


@dataclass(slots=True)
class PluginInfo:
    """What the manager records about one plugin: where it comes from, its role, whether it was
    registered (and why not), and the hooks it implements."""

    name: str
    source: str
    version: str
    role: str
    status: str
    reason: str = ""
    hooks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Candidate:
    """A plugin that may be registered: where it comes from and who asked for it."""

    name: str
    target: Any
    source: str
    version: str
    role: str
    selected: bool

    def load(self) -> Any:
        """Import the plugin (a built-in by its target, a third-party one by its entry point)."""
        loaded = import_target(self.target) if isinstance(self.target, str) else self.target.load()
        return instantiate(loaded)

    def info(self, status: str, reason: str = "") -> PluginInfo:
        """The registry's record of this plugin with ``status``."""
        return PluginInfo(self.name, self.source, self.version, self.role, status, reason)


def _selection(settings: Dynaconf, declarations: Declarations) -> tuple[list[str], list[str]]:
    """Names settings ask for, in registration order (with the plugins whose sections' values
    ask for them), and names they explicitly select."""
    plugins, processing = settings.plugins, settings.processing
    processor = str(plugins.processor) if processing.enable_batch_optimization else "original"
    named = [str(plugins.provider)]
    for section, names_of in declarations.namers:
        values = settings.get(section)
        if values is not None:
            named += [str(name) for name in names_of(values)]
    cache = [str(plugins.cache)] if str(plugins.cache) != "none" else []
    exporters = [str(name) for name in plugins.get("exporters", [])]
    selected = [processor, *named, *cache, *exporters]
    wanted = ["core", "original", processor]
    if processor != "original" and processing.fallback_on_errors:
        wanted.append("fallback")
    wanted += [*named, *cache, *exporters]
    for name, section, asks in declarations.enablers:
        values = settings.get(section)
        if values is not None and asks(values):
            wanted.append(name)
    wanted += [str(name) for name in plugins.get("enabled", [])]
    return list(dict.fromkeys([*wanted, *ALWAYS_REGISTERED])), selected


class PluginRegistry:
    """Our own record of every plugin (not pluggy's private dist info): source, version, status."""

    def __init__(self) -> None:
        self.infos: dict[str, PluginInfo] = {}

    def record(self, info: PluginInfo) -> None:
        """Remember one plugin's outcome."""
        self.infos[info.name] = info

    def __iter__(self) -> Iterator[PluginInfo]:
        return iter(self.infos.values())


def _candidates(
    names: Iterable[str], third_party: Mapping[str, EntryPoint], selected: Sequence[str]
) -> dict[str, _Candidate]:
    """Where each named plugin comes from: the built-in table, or its distribution's entry point."""
    candidates: dict[str, _Candidate] = {}
    for name in names:
        if name in BUILTIN_PLUGINS:
            entry = BUILTIN_PLUGINS[name]
            cand = _Candidate(name, entry.target, "built-in", "", entry.role, name in selected)
        else:
            ep, dist = third_party[name], third_party[name].dist
            source, version = (dist.name, dist.version) if dist else ("unknown", "")
            cand = _Candidate(name, ep, source, version, "third-party", name in selected)
        candidates[name] = cand
    return candidates


def build_plugin_manager(
    settings: Dynaconf, *, autoload: bool | None = None, extra: Sequence[tuple[str, Any]] = ()
) -> tuple[pluggy.PluginManager, PluginRegistry]:
    """Build a fresh plugin manager from settings; ``extra`` registers test plugins by name."""
    pm = PluginManager()
    declarations = collect_declarations()
    for spec in dict.fromkeys([*HOOKSPEC_CLASSES, *declarations.hookspecs]):
        pm.add_hookspecs(spec)
    registry = PluginRegistry()
    strict = bool(settings.plugins.strict)
    autoload = bool(settings.plugins.autoload) if autoload is None else autoload
    disabled = [str(name) for name in settings.plugins.get("disabled", [])]
    for name in disabled:
        if name in ESSENTIAL:
            raise ConfigError(
                f"plugins.disabled names {name!r}, which is essential and cannot be disabled"
            )
    wanted, selected = _selection(settings, declarations)
    third_party = third_party_entry_points()
    valid = sorted({*BUILTIN_PLUGINS, *third_party})
    for name in wanted:
        if name not in BUILTIN_PLUGINS and name not in third_party:
            raise ConfigError(
                f"unknown plugin {name!r} in settings (plugins.*); valid names: {', '.join(valid)}"
            )
    names = list(wanted)
    if autoload:
        names += [name for name in third_party if name not in names]

    candidates = _candidates(names, third_party, selected)
    blocked = {name: "disabled in plugins.disabled" for name in disabled}
    for name, reason in blocked.items():
        if name in selected and name in candidates:
            raise ConfigError(f"plugin {name!r} is selected in settings but {reason}")
        pm.set_blocked(name)
        cand = candidates.get(name) or _Candidate(name, None, "unknown", "", "", False)
        registry.record(cand.info("disabled", reason))

    for name, cand in candidates.items():
        if name in blocked:
            continue
        try:
            plugin = cand.load()
            requires = tuple(getattr(plugin, "batchkernel_requires", ()))
            disabled_req = [req for req in requires if req in blocked]
            if disabled_req:
                blocked[name] = f"requires disabled plugin {disabled_req[0]}"
                pm.set_blocked(name)
                registry.record(cand.info("disabled", blocked[name]))
                continue
            missing = [req for req in requires if req not in candidates]
            if missing:
                raise PluginLoadError(f"requires plugin {missing[0]!r}, which is not enabled")
            pm.register(plugin, name=name)
        except Exception as exc:
            message = (
                f"plugin {name} from {cand.source} {cand.version or '(no version)'} "
                f"failed to load: {type(exc).__name__}: {exc}"
            )
            if cand.selected or cand.source == "built-in" or strict:
                raise PluginLoadError(message) from exc
            log.warning(message)
            log.debug("%s", traceback.format_exc())
            registry.record(cand.info("failed", message))
            continue
        registry.record(cand.info("enabled"))
    for name, plugin in extra:
        pm.register(plugin, name=name)
        registry.record(PluginInfo(name, "test", "", "test", "enabled"))
    pm.check_pending()
    for info in registry:
        plugin = pm.get_plugin(info.name)
        if plugin is not None:
            info.hooks = sorted({caller.name for caller in pm.get_hookcallers(plugin) or []})
            log.debug(
                "registered %s from %s %s: %s", info.name, info.source, info.version, info.hooks
            )
    if settings.plugins.get("trace"):
        pm.trace.root.setwriter(log.debug)
        pm.enable_tracing()
    return pm, registry


def first_answer(
    kernel: KernelAPI,
    hook: str,
    expected: type[T],
    arguments: Mapping[str, Any],
    *,
    default: Callable[..., T] | None = None,
    about: str = "",
) -> T:
    """Call the first-result ``hook`` with ``kernel`` and ``arguments`` and check the answer's
    type: unanswered, ``default(**arguments)`` if given, else a ``NoProviderError`` naming the
    hook, what it was asked ``about`` and the enabled plugins (the facade's calls and the typed
    calls of the hooks plugins call of each other)."""
    result = getattr(kernel.pm.hook, hook)(kernel=kernel, **arguments)
    if result is None and default is not None:
        return default(**arguments)
    if result is None:
        enabled = ", ".join(name for name, _ in kernel.pm.list_name_plugin())
        asked = f" for {about}" if about else ""
        raise NoProviderError(f"no enabled plugin answered {hook!r}{asked}; enabled: {enabled}")
    if not isinstance(result, expected):
        raise TypeError(f"{hook!r} must return {expected}, got {type(result).__name__}")
    return result


def _first_result(
    method: Callable[Concatenate[Any, P], R],
    expected: type,
    default: Callable[..., R] | None = None,
) -> Callable[Concatenate[Kernel, P], R]:
    """A facade method with the signature and docstring of the protocol's ``method``: it calls
    the first-result hook of that name with the arguments by name and checks the answer's type
    (unanswered: ``default(**arguments)`` if given, else ``NoProviderError``)."""
    hook = method.__name__
    signature = inspect.signature(method)

    def call(kernel: Kernel, /, *args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind(kernel, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(list(bound.arguments.items())[1:])
        return kernel._first(hook, expected, default, **arguments)

    call.__name__ = call.__qualname__ = hook
    call.__doc__ = method.__doc__
    return call


class Kernel:
    """Typed facade over the hooks: settings, database and metrics for plugins; checked results.

    The plain first-result calls are generated from :class:`kernel.api.KernelAPI` (its signature
    and docstring, the answer checked against the type listed); the others are written out.
    """

    def __init__(
        self, settings: Dynaconf, pm: pluggy.PluginManager, registry: PluginRegistry
    ) -> None:
        self.settings = settings
        self.pm = pm
        self.registry = registry
        self._database: Database | None = None
        self.log = logging.getLogger("batchkernel")
        self.instance_id: str | None = None
        self._closed = False
        self.create_database = True
        """False: a missing SQLite file is an error, not created (the command line's default;
        the commands that create the schema migrate, which creates it)."""

    @classmethod
    def create(
        cls,
        settings: Dynaconf | None = None,
        *,
        overrides: dict[str, Any] | None = None,
        autoload: bool | None = None,
        extra: Sequence[tuple[str, Any]] = (),
    ) -> Kernel:
        """Load settings (unless given), build the plugin manager and return a kernel."""
        settings = settings if settings is not None else load_settings(overrides)
        pm, registry = build_plugin_manager(settings, autoload=autoload, extra=extra)
        return cls(settings, pm, registry)

    @property
    def db(self) -> Database:
        """The database, opened on first use from ``database.*`` settings."""
        if self._database is None:
            from kernel.db.engine import Database

            self._database = Database.from_settings(
                self.settings, create_missing=self.create_database
            )
        return self._database

    @cached_property
    def workdir(self) -> Path:
        """Directory for batch input and result files (``batch.workdir``)."""
        path = Path(str(self.settings.batch.workdir)).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path

    def crashpoint(self, name: str) -> None:
        """A named crash point for fault-injection tests (see ``kernel.crashpoints``)."""
        crashpoint(name)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Let plugins release what they hold, then the database connections (once: a second
        call does nothing)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.pm.hook.shutdown(kernel=self)
        except Exception:
            self.log.debug("a plugin failed to shut down cleanly", exc_info=True)
        if self._database is not None:
            self._database.dispose()

    def metric(
        self,
        name: str,
        value: float,
        *,
        kind: MetricKind = "counter",
        unit: str = "1",
        **attrs: Any,
    ) -> None:
        """Broadcast one measurement to each exporter separately: one that raises is logged at
        debug level and the others still see the metric."""
        args = {"kernel": self, "metric": Metric(name, kind, float(value), unit, attrs)}
        for impl in reversed(self.pm.hook.record_metric.get_hookimpls()):
            if impl.wrapper or impl.hookwrapper:
                continue
            try:
                impl.function(*(args[arg] for arg in impl.argnames))
            except Exception:
                self.log.debug("exporter %s failed on %s", impl.plugin_name, name, exc_info=True)

    def _first(
        self, hook: str, expected: type[T], default: Callable[..., T] | None = None, /, **kw: Any
    ) -> T:
        """Call a first-result hook and check its answer's type (unanswered: ``default(**kw)``)."""
        return first_answer(self, hook, expected, kw, default=default)

    def providers(self) -> list[str]:
        """The configured providers, primary first (``configured_providers``; unanswered,
        ``[plugins.provider]``)."""
        return self._first(
            "configured_providers", list, lambda: [str(self.settings.plugins.provider)]
        )

    def select_companies(self, companies: Sequence[Company]) -> list[Company]:
        """The companies to claim work for this cycle, with their shares (all when unanswered)."""
        chosen = self.pm.hook.select_companies(kernel=self, companies=companies)
        if chosen is None:
            return list(companies)
        if not isinstance(chosen, list):
            raise TypeError(f"'select_companies' must return a list, got {type(chosen).__name__}")
        return chosen

    def admit_batches(self, plans: Sequence[BatchPlan]) -> list[tuple[BatchPlan, bool, str]]:
        """Which plans may be submitted now, and why not (all admitted when unanswered)."""
        if not plans:
            return []
        decided = self.pm.hook.admit_batches(kernel=self, plans=plans)
        if decided is None:
            return [(plan, True, "") for plan in plans]
        if not isinstance(decided, list) or len(decided) != len(plans):
            raise TypeError("'admit_batches' must return one (plan, admitted, reason) per plan")
        return decided

    def company_concurrency(self) -> int:
        """How many companies' provider work may run at once (at least 1)."""
        return max(1, self._first("company_concurrency", int))

    def discard_submission(self, plan: BatchPlan) -> None:
        """Let the provider delete files uploaded for an abandoned plan."""
        self.pm.hook.discard_submission(kernel=self, plan=plan)

    def sweep_provider_files(self, settled: Callable[[Sequence[str]], set[str]]) -> int:
        """Delete provider files of batches that are over; how many (0 with no provider)."""
        deleted = self.pm.hook.sweep_provider_files(kernel=self, settled=settled)
        return sum(int(count or 0) for count in deleted)

    def collect_status(self) -> dict[str, Any]:
        """Merge every plugin's status sections: later plugins never overwrite earlier keys, and
        a section two plugins answer as mappings (two providers' health) holds both."""
        merged: dict[str, Any] = {}
        for part in self.pm.hook.collect_status(kernel=self):
            for key, value in (part or {}).items():
                current = merged.get(key)
                if isinstance(current, dict) and isinstance(value, dict):
                    merged[key] = {**value, **current}
                else:
                    merged.setdefault(key, value)
        return merged

    # The hooks whose first answer is checked against its type, with the protocol's signature.
    get_companies = _first_result(KernelAPI.get_companies, list)
    fetch_pending = _first_result(KernelAPI.fetch_pending, list)
    submit_batch = _first_result(KernelAPI.submit_batch, SubmittedBatch)
    record_submitted = _first_result(KernelAPI.record_submitted, list)
    abandon_plan = _first_result(KernelAPI.abandon_plan, bool)
    fetch_stale_plans = _first_result(KernelAPI.fetch_stale_plans, list)
    fetch_inflight = _first_result(KernelAPI.fetch_inflight, list)
    poll_batch = _first_result(KernelAPI.poll_batch, ProviderBatch)
    record_batch_statuses = _first_result(KernelAPI.record_batch_statuses, int)
    fetch_finished = _first_result(KernelAPI.fetch_finished, list)
    download_results = _first_result(KernelAPI.download_results, ResultFiles)
    apply_results = _first_result(KernelAPI.apply_results, ApplySummary)
    cancel_batch = _first_result(KernelAPI.cancel_batch, ProviderBatch)
    retry_failed = _first_result(KernelAPI.retry_failed, RetrySummary)
    uncleaned_batches = _first_result(KernelAPI.uncleaned_batches, list)
    record_cleaned = _first_result(KernelAPI.record_cleaned, int)
    settled_submissions = _first_result(KernelAPI.settled_submissions, set)
    run_task = _first_result(KernelAPI.run_task, dict)
    run_cycle = _first_result(KernelAPI.run_cycle, dict)
    # Unanswered, these answer: healthy; no such batch; none left (no plugin holds its files).
    provider_health = _first_result(
        KernelAPI.provider_health, ProviderHealth, lambda provider: ProviderHealth(provider, "ok")
    )
    find_batch = _first_result(KernelAPI.find_batch, ProviderBatch, lambda plan: None)
    cleanup_batch = _first_result(KernelAPI.cleanup_batch, bool, lambda batch: True)


if TYPE_CHECKING:
    # The facade is what plugins receive as ``kernel``: mypy checks here that it keeps the contract.
    _FACADE_KEEPS_THE_CONTRACT: type[KernelAPI] = Kernel
