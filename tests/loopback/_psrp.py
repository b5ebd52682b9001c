"""PowerShell Remoting Protocol state of one fake shell, on top of psrpcore's server objects.

psrpcore keeps a single outgoing queue per runspace pool and is not thread-safe, so every
shell owns a Condition: all psrpcore calls happen under it, and outgoing messages are moved at
once into per-target queues (the pool or one pipeline) so that a Receive for one target never
has to wait behind another target's data. The host re-fragments those messages itself to fit
the client's MaxEnvelopeSize.
"""

from __future__ import annotations

import base64
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psrpcore
from psrpcore.types import (
    DebugRecordMsg,
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    ErrorRecordMsg,
    NETException,
    PipelineState,
    PSInvocationState,
    PSRPMessageType,
    VerboseRecordMsg,
    WarningRecordMsg,
)

from ._model import Answer, Invocation, now
from ._soap import ProtocolFault

_FRAGMENT_HEADER = struct.Struct(">QQBI")  # object id, fragment id, start/end flags, length
_START, _END = 0x1, 0x2
_FINISHED = (PSInvocationState.Completed, PSInvocationState.Failed, PSInvocationState.Stopped)


def plain(value: object) -> object:
    """Turn psrpcore's deserialised values (PSString, PSInt, PSList...) into plain Python.

    Tests compare with ``==`` and ``type(...) is``, so subclasses of str/int would surprise.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass
class _OutMessage:
    """A whole PSRP message waiting to be sent, possibly over several Receives."""

    object_id: int
    data: bytes
    offset: int = 0
    fragment_id: int = 0


@dataclass
class _Run:
    """Host-side state of one pipeline."""

    pipeline: psrpcore.ServerPipeline
    command_id: str
    created: bool = False
    input_done: bool = False
    no_input: bool = True
    inputs: list[object] = field(default_factory=list)
    answer: Answer | None = None
    ready_at: float | None = None
    executed: bool = False


def _split_fragments(data: bytes) -> list[tuple[int, bytes]]:
    """Split psrpcore's whole-message output (amount=None gives one fragment each) into messages."""
    out: list[tuple[int, bytes]] = []
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        oid, fid, flags, length = _FRAGMENT_HEADER.unpack_from(view, pos)
        pos += _FRAGMENT_HEADER.size
        if fid != 0 or flags != _START | _END:
            raise RuntimeError(f"unexpected partial fragment from psrpcore oid={oid} fid={fid}")
        out.append((oid, bytes(view[pos : pos + length])))
        pos += length
    return out


class Shell:
    """One runspace pool (WinRM shell) and its pipelines."""

    def __init__(
        self,
        shell_id: str,
        resource_uri: str,
        owner: str,
        resolve: Callable[[Invocation], Answer],
        record: Callable[[Invocation], None],
    ) -> None:
        self.shell_id = shell_id
        self.resource_uri = resource_uri
        self.owner = owner
        self.cond = threading.Condition()
        self.pool = psrpcore.ServerRunspacePool()
        self.runs: dict[str, _Run] = {}
        self.closed = False
        self._queues: dict[str | None, deque[_OutMessage]] = {None: deque()}
        self._resolve = resolve
        self._record = record

    # -- incoming -----------------------------------------------------------------------------

    def feed(self, data: bytes, command_id: str | None = None) -> None:
        """Give client PSRP fragments to psrpcore and act on every complete message. Lock held."""
        self.pool.receive_data(psrpcore.PSRPPayload(data, psrpcore.StreamType.default, None))
        while True:
            event = self.pool.next_event()
            if event is None:
                break
            self._on_event(event)
        self._drain()
        self.cond.notify_all()

    def new_pipeline(self, command_id: str) -> None:
        """psrpcore needs the pipeline object before CREATE_PIPELINE arrives. Lock held."""
        pid = uuid.UUID(command_id)
        if command_id in self.runs:
            raise ProtocolFault(None, f"Command {command_id} already exists", "w:AlreadyExists")
        self.runs[command_id] = _Run(psrpcore.ServerPipeline(self.pool, pid), command_id)
        self._queues[command_id] = deque()

    def _on_event(self, event: psrpcore.PSRPEvent[Any, Any]) -> None:
        if isinstance(event, psrpcore.CreatePipelineEvent):
            run = self._run_for(event.pipeline_id)
            run.created = True
            meta = event.pipeline
            run.no_input = bool(getattr(meta, "no_input", True))
            run.input_done = run.no_input
            self._maybe_start(run)
        elif isinstance(event, psrpcore.PipelineInputEvent):
            self._run_for(event.pipeline_id).inputs.append(plain(event.data))
        elif isinstance(event, psrpcore.EndOfPipelineInputEvent):
            run = self._run_for(event.pipeline_id)
            run.input_done = True
            self._maybe_start(run)
        elif isinstance(
            event,
            (
                psrpcore.SetMaxRunspacesEvent,
                psrpcore.SetMinRunspacesEvent,
                psrpcore.ResetRunspaceStateEvent,
            ),
        ):
            self.pool.runspace_availability_response(event.ci, True)
        elif isinstance(event, psrpcore.GetAvailableRunspacesEvent):
            self.pool.runspace_availability_response(event.ci, max(self.pool.max_runspaces, 1))

    def _run_for(self, pipeline_id: uuid.UUID | None) -> _Run:
        key = str(pipeline_id).upper() if pipeline_id else ""
        run = self.runs.get(key)
        if run is None:
            raise ProtocolFault(
                None, f"PSRP message for unknown pipeline {pipeline_id}", "w:InvalidSelectors"
            )
        return run

    def _maybe_start(self, run: _Run) -> None:
        """Record the invocation and pick its answer once the pipeline and its input are complete."""
        if not run.created or not run.input_done or run.answer is not None:
            return
        meta = run.pipeline.metadata
        commands = []
        params: dict[str, object] = {}
        args: list[object] = []
        for cmd in getattr(meta, "commands", []):
            cmd_params = tuple((None if n is None else str(n), plain(v)) for n, v in cmd.parameters)
            commands.append((str(cmd.command_text), bool(cmd.is_script), cmd_params))
            for name, value in cmd_params:
                if name is None:
                    args.append(value)
                else:
                    params[name] = value
        first_text, first_is_script = (commands[0][0], commands[0][1]) if commands else ("", True)
        invocation = Invocation(
            script=first_text,
            parameters=params,
            command_name=None if first_is_script else first_text,
            arguments=args,
            commands=tuple(commands),
            input=list(run.inputs),
            shell_id=self.shell_id,
            pipeline_id=run.command_id,
            username=self.owner,
            at=now(),
        )
        self._record(invocation)
        run.answer = self._resolve(invocation)
        run.pipeline.start()
        run.ready_at = now() + max(run.answer.delay, 0.0)
        self.execute_due()

    # -- "running" answers ----------------------------------------------------------------------

    def execute_due(self) -> float | None:
        """Play every answer whose delay has passed; returns the next due time, if any. Lock held."""
        next_due: float | None = None
        current = now()
        for run in self.runs.values():
            if run.executed or run.ready_at is None or run.answer is None:
                continue
            if run.ready_at <= current:
                self._play(run, run.answer)
                run.executed = True
            else:
                next_due = run.ready_at if next_due is None else min(next_due, run.ready_at)
        self._drain()
        return next_due

    def _play(self, run: _Run, answer: Answer) -> None:
        pipe = run.pipeline
        if pipe.state != PSInvocationState.Running:
            return  # stopped by the client before the delay ran out
        for value in answer.output:
            pipe.write_output(value)
        for message in answer.errors:
            err = _error_record(message, "FakeHost.WriteError", ErrorCategory.NotSpecified)
            pipe.prepare_message(err, message_type=PSRPMessageType.ErrorRecord)
        for cls, mtype, messages in (
            (WarningRecordMsg, PSRPMessageType.WarningRecord, answer.warnings),
            (VerboseRecordMsg, PSRPMessageType.VerboseRecord, answer.verbose),
            (DebugRecordMsg, PSRPMessageType.DebugRecord, answer.debug),
        ):
            for message in messages:
                record = cls(Message=message)
                record.PSObject.to_string = clixml_text(message)  # else pypsrp shows None
                pipe.prepare_message(record, message_type=mtype)
        for data in answer.information:
            pipe.write_information(data, "FakeWinRMHost")
        if answer.failed is False:
            pipe.complete()
            return
        reason = answer.failed if isinstance(answer.failed, str) else "The pipeline failed."
        error = _error_record(reason, "FakeHost.PipelineFailed", ErrorCategory.OperationStopped)
        pipe.prepare_message(
            PipelineState(PipelineState=int(PSInvocationState.Failed), ExceptionAsErrorRecord=error)
        )
        pipe.state = PSInvocationState.Failed

    # -- outgoing -----------------------------------------------------------------------------

    def _drain(self) -> None:
        """Move psrpcore's outgoing messages into per-target queues. Lock held."""
        while True:
            payload = self.pool.data_to_send()
            if payload is None:
                return
            key = str(payload.pipeline_id).upper() if payload.pipeline_id else None
            queue = self._queues.setdefault(key, deque())
            for oid, data in _split_fragments(payload.data):
                queue.append(_OutMessage(oid, data))

    def take(self, command_id: str | None, budget: int) -> list[str]:
        """Pop up to ``budget`` bytes of fragments for one target. Lock held."""
        queue = self._queues.get(command_id)
        chunks: list[str] = []
        if not queue:
            return chunks
        buf = bytearray()
        while queue and budget - len(buf) > _FRAGMENT_HEADER.size:
            msg = queue[0]
            room = budget - len(buf) - _FRAGMENT_HEADER.size
            part = msg.data[msg.offset : msg.offset + room]
            flags = (_START if msg.offset == 0 else 0) | (
                _END if msg.offset + len(part) == len(msg.data) else 0
            )
            buf += _FRAGMENT_HEADER.pack(msg.object_id, msg.fragment_id, flags, len(part))
            buf += part
            msg.offset += len(part)
            msg.fragment_id += 1
            if flags & _END:
                queue.popleft()
        if buf:
            chunks.append(base64.b64encode(bytes(buf)).decode("ascii"))
        return chunks

    def pending(self, command_id: str | None) -> bool:
        """Whether a target has data waiting. Lock held."""
        return bool(self._queues.get(command_id))

    def finished(self, command_id: str) -> bool:
        """Whether a pipeline reached a final state. Lock held."""
        run = self.runs.get(command_id)
        return run is None or run.pipeline.state in _FINISHED

    # -- signals --------------------------------------------------------------------------------

    def stop(self, command_id: str) -> None:
        """Ctrl+C: stop a running pipeline. Lock held."""
        run = self.runs.get(command_id)
        if run is not None and run.pipeline.state == PSInvocationState.Running:
            run.pipeline.stop()
            self._drain()
            self.cond.notify_all()

    def terminate(self, command_id: str) -> None:
        """Terminate signal: forget the pipeline. Lock held."""
        run = self.runs.pop(command_id, None)
        self._queues.pop(command_id, None)
        if run is not None:
            if run.pipeline.state == PSInvocationState.Running:
                run.pipeline.stop()
            run.pipeline.close()
            self._drain()
        self.cond.notify_all()

    def wait(self, timeout: float) -> None:
        """Block (releasing the lock) until new data or ``timeout`` seconds. Lock held."""
        if timeout > 0:
            self.cond.wait(timeout)


def _error_record(message: str, error_id: str, category: ErrorCategory) -> ErrorRecord:
    """An ErrorRecord shaped like PowerShell's, with to_string set so clients print the message."""
    exc = NETException(Message=message)
    record = ErrorRecordMsg(
        Exception=exc,
        CategoryInfo=ErrorCategoryInfo(Category=category, Reason="FakeWinRMHostError"),
        FullyQualifiedErrorId=error_id,
    )
    record.PSObject.to_string = clixml_text(message)
    return record


def clixml_text(text: str) -> str:
    """A ToString value as PowerShell writes it: control characters as ``_xHHHH_``.

    psrpcore writes ToString raw, and raw C0 characters are not XML; PowerShell
    encodes them (as psrpcore already does for string properties), so a hostile
    message arrives at the client the way it would from Windows.
    """
    return "".join(
        f"_x{ord(ch):04X}_" if ord(ch) < 0x20 and ch not in "\t\n\r" else ch for ch in text
    )


def deadline_after(seconds: float) -> float:
    """A monotonic deadline, so waits are immune to wall-clock jumps."""
    return time.monotonic() + seconds
