"""One sample call per asset, as a harvest would make it, for a real course and student."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from moodle_assets.endpoints.extract import extract_records
from moodle_assets.endpoints.runner import LookupQuery, SettingsError, lookup_queries, plan_calls, resolve
from moodle_assets.endpoints.spec import EndpointSpec
from moodle_assets.moodle import FunctionNotInServiceError, MoodleAPIError, MoodleClient, MoodleError
from moodle_assets.tools.sample import first_page

from .knowledge import (
    ACCESS_WARNING,
    BLOCKED,
    CAPABILITY_NAMES,
    COURSE_ASSETS,
    COURSE_INDEX,
    COURSE_TRIES,
    ENROLLED_USERS,
    FAILED,
    FUNCTION_CAPABILITIES,
    MISSING,
    NARROWING,
    OK,
    REFUSED,
    SITE_INFO,
    UNCHECKED,
    USER_ASSETS,
    WARNING_CAPABILITIES,
    Refusal,
    grant_fix,
    refusal_of,
)
from .results import Answer, FunctionStatus, service_fix, site_features
from .tables import SampleTables, data_upstream, pick_user


class Sampler:
    """One sample call per asset, in dependency order, a bounded number at once."""

    def __init__(
        self,
        client: MoodleClient,
        site_info: Mapping[str, Any],
        specs: Sequence[EndpointSpec],
        statuses: Sequence[FunctionStatus],
        timeout: float,
        concurrency: int,
    ) -> None:
        self.client = client
        self.site_info = site_info
        self.specs = {s.name: s for s in specs}
        self.checked = {s.asset: s for s in statuses}
        self.timeout = timeout
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.me = site_info.get("userid")
        self.tables = SampleTables()
        self.results: dict[str, FunctionStatus] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.course: dict | None = None
        self.user: dict | None = None

    # -------------------------------------------------------------- driving

    async def run(self) -> list[FunctionStatus]:
        try:
            await self._discover()
            names = list(self.specs)
            await asyncio.gather(*(self._get(name) for name in names))
        finally:
            self.tables.close()
        self._settle()
        return [self.results[name] for name in names]

    def _get(self, name: str) -> asyncio.Future:
        if name in self.results:
            done: asyncio.Future = asyncio.get_running_loop().create_future()
            done.set_result(self.results[name])
            return done
        if name not in self.tasks:
            self.tasks[name] = asyncio.ensure_future(self._run(name))
        return self.tasks[name]

    async def _run(self, name: str) -> FunctionStatus:
        spec, checked = self.specs[name], self.checked[name]
        upstream = [u for u in data_upstream(spec) if u in self.specs]
        for parent in upstream:
            await self._get(parent)
        if spec.explode:
            result = self._follow(checked, self.results.get(spec.explode.asset))
        elif not checked.available:
            result = checked
        elif checked.function == SITE_INFO and not spec.params:
            result = checked  # answered already: the credential check
        else:
            result = await self._sample(spec, checked)
        self.results[name] = result
        return result

    def _settle(self) -> None:
        """An asset that can run but whose ids come from one that cannot is blocked by it
        (enrolled_users, sampled first to find the sample student, learns about courses here)."""
        changed = True
        while changed:
            changed = False
            for name, result in list(self.results.items()):
                spec = self.specs[name]
                if spec.explode:
                    settled = self._follow(self.checked[name], self.results.get(spec.explode.asset))
                elif result.status == OK:
                    bad = [u for u in data_upstream(spec) if u in self.results and self.results[u].status != OK]
                    settled = self._blocked(result, bad[0]) if bad else result
                else:
                    settled = result
                if settled != result:
                    self.results[name] = settled
                    changed = True

    # -------------------------------------------------------------- the sample course and user

    async def _discover(self) -> None:
        """A course (from course_index's first page) and a student of it (from enrolled_users)."""
        candidates: list[dict] = []
        index = self.specs.get(COURSE_INDEX)
        if index is not None and self.checked[COURSE_INDEX].available:
            answer = await self._call(index, self.checked[COURSE_INDEX], None)
            result = await self._classify(index, self.checked[COURSE_INDEX], answer, None)
            self.results[COURSE_INDEX] = result
            if result.status == OK:
                candidates = [r for r in answer.records if r.get("id") is not None]
        enrolled = self.specs.get(ENROLLED_USERS)
        if enrolled is not None and self.checked[ENROLLED_USERS].available and candidates:
            queries = lookup_queries(resolve(enrolled, function=self.checked[ENROLLED_USERS].function))
            column = queries[0].columns[0] if queries and len(queries[0].columns) == 1 else None
            results: list[FunctionStatus] = []
            for course in candidates[:COURSE_TRIES] if column else []:
                used = {f"{queries[0].asset}.{column}": course["id"]}
                answer = await self._call(enrolled, self.checked[ENROLLED_USERS], [{column: course["id"]}])
                results.append(await self._classify(enrolled, self.checked[ENROLLED_USERS], answer, used))
                # Nobody enrolled, or refused for this course only (a hidden course, a local
                # override): the next course tells whether it is the course or the role.
                user = pick_user(answer.records, self.me) if results[-1].status == OK else None
                if user is not None:
                    self.course, self.user = course, user
                    break
            if results:
                answered = [r for r in results if r.status == OK]
                self.results[ENROLLED_USERS] = answered[-1] if answered else results[0]
        if self.course is None and candidates:
            self.course = candidates[0]
        if index is not None:
            self.tables.put(COURSE_INDEX, [self.course] if self.course else [], index.columns)
        if enrolled is not None:
            self.tables.put(ENROLLED_USERS, [self.user] if self.user else [], enrolled.columns)

    def _id(self, which: str) -> Any:
        record = self.course if which == "course" else self.user
        return record.get("id") if record else None

    def _known_row(self, query: LookupQuery) -> dict | None:
        """Lookup values known without the upstream rows: the sample course and user."""
        row = {}
        for column in query.columns:
            if column == "courseid" or (column == "id" and query.asset in COURSE_ASSETS):
                value = self._id("course")
            elif column == "userid" or (column == "id" and query.asset in USER_ASSETS):
                value = self._id("user")
            else:
                return None
            if value is None:
                return None
            row[column] = value
        return row

    def _narrowing(self, spec: EndpointSpec) -> dict[str, Any] | None:
        wanted = NARROWING.get(spec.name)
        if not wanted or not spec.source.startswith("templates/"):
            return None
        config = {}
        for name, value in wanted.items():
            setting = spec.settings.get(name)
            if setting is None:
                return None
            if value in ("{course}", "{user}"):
                known = self._id(value[1:-1])
                if known is None:
                    return None
                value = str(known)
            elif setting.choices is not None and value not in setting.choices:
                return None
            config[name] = value
        return config

    # -------------------------------------------------------------- one sample

    async def _sample(self, spec: EndpointSpec, checked: FunctionStatus) -> FunctionStatus:
        try:
            resolved = resolve(spec, self._narrowing(spec), function=checked.function)
        except SettingsError as exc:
            return replace(checked, available=False, status=FAILED, fix=str(exc))
        queries = lookup_queries(resolved)
        rows, used, blocked_by = None, None, None
        if queries:
            query = queries[0]
            sources = [query.asset] if query.sql is None else list(spec.lookup.deps if spec.lookup else ())
            sources = [s for s in sources if s in self.specs]
            bad = [s for s in sources if self.results[s].status != OK]
            if not bad:
                # Nothing in the sample course (no competencies there): the sample course and
                # user still show whether Moodle lets the token ask.
                rows = self.tables.first_row(query) or [
                    known for known in [self._known_row(query)] if known is not None
                ]
                if not rows:
                    return replace(
                        checked,
                        available=False,
                        status=UNCHECKED,
                        fix=f"{' and '.join(sources)} had no "
                        f"{', '.join(f'{query.asset}.{c}' for c in query.columns)} in the sample"
                        + (f" (course {self._id('course')})" if self.course else ""),
                    )
            else:
                blocked_by = bad[0]
                known = self._known_row(query)
                if known is None:
                    return self._blocked(checked, blocked_by)
                rows = [known]
            used = {f"{query.asset}.{c}": rows[0][c] for c in query.columns}
        answer = await self._call(spec, checked, rows)
        result = await self._classify(spec, checked, answer, used)
        if answer.error is None and not answer.timed_out:
            self.tables.put(spec.name, self._table(spec.name, answer.records), spec.columns)
        if blocked_by and result.status == OK:
            result = self._blocked(result, blocked_by)
        return result

    def _table(self, name: str, records: list[dict]) -> list[dict]:
        """The rows later lookups read: for users, the one sample user."""
        if name in USER_ASSETS and name != "users_by_field":
            user = self.user if self.user is not None else pick_user(records, self.me)
            if self.user is None:
                self.user = user
            return [r for r in records if user and r.get("id") == user.get("id")][:1] or ([user] if user else [])
        return records

    async def _call(self, spec: EndpointSpec, checked: FunctionStatus, rows: list[dict] | None) -> Answer:
        try:
            resolved = resolve(spec, self._narrowing(spec), function=checked.function)
            now = datetime.now(UTC)
            window = (now - timedelta(days=1), now) if spec.partition else None
            call = next(iter(plan_calls(resolved, rows, now, window=window)), None)
        except ValueError as exc:  # a macro that cannot be resolved, a bad setting
            return Answer(error=exc)
        if call is None:
            return Answer(error=ValueError("no call planned: no lookup values"))
        async with self.slots:
            try:
                document, _ = await asyncio.wait_for(first_page(self.client, resolved, call), self.timeout)
            except TimeoutError:
                return Answer(timed_out=True)
            except MoodleError as exc:
                return Answer(error=exc)
        try:
            records = extract_records(document, spec.data_path, spec.parent_fields, spec.scalar_column)
        except Exception as exc:  # noqa: BLE001 - an answer the spec cannot read is this asset's finding
            return Answer(document=document, error=ValueError(f"the answer could not be read: {exc}"))
        context = dict(call.context)
        records = [{**{k: v for k, v in context.items() if k not in r}, **r} for r in records]
        return Answer(records, document)

    async def _classify(
        self, spec: EndpointSpec, checked: FunctionStatus, answer: Answer, used: Mapping[str, Any] | None
    ) -> FunctionStatus:
        base = replace(checked, sampled_with=used)
        function = checked.function
        if answer.timed_out:
            return replace(
                base,
                available=False,
                status=UNCHECKED,
                fix=f"no answer within {self.timeout:g} s; try: moodle-assets test {spec.name}",
            )
        error = answer.error
        if isinstance(error, FunctionNotInServiceError):
            return replace(base, available=False, status=MISSING, fix=service_fix(function))
        if isinstance(error, MoodleAPIError):
            code = error.errorcode
            said = f"{error.moodle_message} [{code or error.exception or 'error'}]"
            if code in spec.fail_on:
                return replace(base, available=False, status=FAILED, moodle_said=said, fix=spec.fail_on[code])
            refusal = refusal_of(function, code, error.exception, error.moodle_message, error.debuginfo)
            if refusal is not None and code == "cannotviewreport" and await self._completion_off():
                # Completion tracking is off: there is nothing to report, it is not a refusal.
                return replace(
                    base,
                    caveats=base.caveats + (f"the sample course has completion tracking off, so Moodle said: {said}",),
                )
            if refusal is not None:
                return self._refused(base, refusal, said)
            if code in spec.empty_on:
                return base
            return replace(
                base,
                available=False,
                status=FAILED,
                moodle_said=said,
                fix=f"the sample call failed; see it with: moodle-assets test {spec.name}",
            )
        if isinstance(error, MoodleError):  # the site did not answer usably (transport, HTTP)
            message = " ".join(str(error).split())
            return replace(base, available=False, status=UNCHECKED, fix=f"the sample call did not complete: {message}")
        if error is not None:  # the call could not be planned (a macro, a setting)
            return replace(base, available=False, status=FAILED, fix=" ".join(str(error).split()))
        soft = self._warned_refusal(function, answer)
        if soft is not None:
            refusal, said = soft
            return self._refused(base, refusal, said)
        return base

    def _refused(self, base: FunctionStatus, refusal: Refusal, said: str) -> FunctionStatus:
        return replace(
            base,
            available=False,
            status=REFUSED,
            capability=refusal.capability,
            capability_name=refusal.name,
            moodle_said=said,
            also=refusal.also,
            fix=grant_fix(refusal),
        )

    def _warned_refusal(self, function: str, answer: Answer) -> tuple[Refusal, str] | None:
        """An empty answer whose warnings say the token may not read the data (no exception)."""
        if answer.records or not isinstance(answer.document, Mapping):
            return None
        for warning in answer.document.get("warnings") or []:
            if not isinstance(warning, Mapping):
                continue
            message, code = str(warning.get("message", "")), str(warning.get("warningcode", ""))
            if (function, code) in WARNING_CAPABILITIES or ACCESS_WARNING.search(message):
                capability = WARNING_CAPABILITIES.get((function, code))
                name = CAPABILITY_NAMES.get(capability) if capability else None
                checked = FUNCTION_CAPABILITIES.get(function, ())
                also = tuple(checked[checked.index(capability) + 1 :]) if capability in checked else ()
                return Refusal(capability, name, also), f"warning {code}: {message}"
        return None

    async def _completion_off(self) -> bool:
        """Completion tracking is off on the site or in the sample course (cannotviewreport then
        means there is nothing to report)."""
        feature = site_features(self.site_info).get("enablecompletion")
        if feature is not None and not int(feature):
            return True
        if "courses" in self.specs:
            await self._get("courses")
        course_id = self._id("course")
        for name in ("courses", COURSE_INDEX):
            for record in self.tables.get(name):
                if record.get("id") == course_id and "enablecompletion" in record:
                    return not record["enablecompletion"]
        return False

    def _blocked(self, status: FunctionStatus, parent: str) -> FunctionStatus:
        """Its ids come from ``parent``, which cannot run: what unblocks the parent unblocks it."""
        upstream = self.results[parent]
        return replace(
            status,
            available=False,
            status=BLOCKED,
            blocked_by=parent,
            capability=upstream.capability,
            capability_name=upstream.capability_name,
            also=upstream.also,
            fix=f"its ids come from {parent}, which cannot run: {upstream.fix}",
        )

    def _follow(self, checked: FunctionStatus, parent: FunctionStatus | None) -> FunctionStatus:
        """An exploded asset makes no call: it can run when its parent can, and what unblocks
        the parent (the capability to grant) unblocks it."""
        if parent is None or parent.status == OK:
            return checked
        return replace(
            checked,
            available=False,
            status=BLOCKED,
            blocked_by=parent.asset,
            capability=parent.capability,
            capability_name=parent.capability_name,
            also=parent.also,
            fix=f"its rows come from {parent.asset}, which cannot run: {parent.fix}",
        )
