"""WS-Management (SOAP) parsing and response building for the loopback host.

Responses are built from string templates (not ElementTree) because the host answers thousands
of requests in fleet tests and string formatting is several times cheaper.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "wst": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "wsmanfault": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "pwsh": "http://schemas.microsoft.com/powershell",
    "cfg": "http://schemas.microsoft.com/wbem/wsman/1/config",
}

_ACTION_PREFIXES = (
    "http://schemas.xmlsoap.org/ws/2004/09/transfer/",
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/",
)
SHELL_STATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/"
SIGNAL_TERMINATE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/Terminate"
SIGNAL_PS_CTRL_C = "powershell/signal/ctrl_c"

_ENVELOPE_OPEN = (
    '<s:Envelope xml:lang="en-US" xmlns:s="{s}" xmlns:a="{wsa}" xmlns:w="{wsman}" '
    'xmlns:rsp="{rsp}" xmlns:x="{wst}" xmlns:p="{pwsh}" xmlns:cfg="{cfg}">'
).format(**NS)


class ProtocolFault(Exception):
    """A WSMan fault the host answers on purpose (not a bug in the host)."""

    def __init__(self, code: int | None, reason: str, subcode: str = "w:InternalError") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.subcode = subcode


@dataclass
class Request:
    """The parts of a WSMan request the host acts on."""

    action: str
    message_id: str
    resource_uri: str
    max_envelope_size: int
    operation_timeout: float
    selectors: dict[str, str]
    options: dict[str, str]
    body: ET.Element | None
    raw_size: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def shell_id(self) -> str | None:
        """The ShellId selector, uppercase (pypsrp sends the pool GUID)."""
        value = self.selectors.get("ShellId")
        return value.upper() if value else None


def _parse_duration(text: str | None, default: float) -> float:
    """Parse the ``PT20S``/``PT20.000S`` form WSMan uses for OperationTimeout."""
    if not text or not text.startswith("PT") or not text.endswith("S"):
        return default
    try:
        return float(text[2:-1])
    except ValueError:
        return default


def parse_request(data: bytes) -> Request:
    """Parse a SOAP envelope into a :class:`Request`; raises ProtocolFault on nonsense."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ProtocolFault(
            None, f"Malformed SOAP envelope: {exc}", "w:InvalidMessageInformationHeader"
        ) from exc
    header = root.find("s:Header", NS)
    if header is None:
        raise ProtocolFault(
            None, "SOAP envelope has no header", "w:InvalidMessageInformationHeader"
        )

    def text(path: str) -> str | None:
        el = header.find(path, NS)
        return el.text if el is not None else None

    action_uri = text("wsa:Action") or ""
    action = action_uri
    for prefix in _ACTION_PREFIXES:
        if action_uri.startswith(prefix):
            action = action_uri[len(prefix) :]
    try:
        max_env = int(text("wsman:MaxEnvelopeSize") or "153600")
    except ValueError:
        max_env = 153600
    selectors = {
        el.attrib.get("Name", ""): el.text or ""
        for el in header.findall("wsman:SelectorSet/wsman:Selector", NS)
    }
    options = {
        el.attrib.get("Name", ""): el.text or ""
        for el in header.findall("wsman:OptionSet/wsman:Option", NS)
    }
    body = root.find("s:Body", NS)
    return Request(
        action=action,
        message_id=text("wsa:MessageID") or "",
        resource_uri=text("wsman:ResourceURI") or "",
        max_envelope_size=max_env,
        operation_timeout=_parse_duration(text("wsman:OperationTimeout"), 20.0),
        selectors=selectors,
        options=options,
        body=body[0] if body is not None and len(body) else None,
        raw_size=len(data),
    )


def envelope(action: str, relates_to: str, body: str) -> bytes:
    """A response envelope whose RelatesTo echoes the request's MessageID (pypsrp checks it)."""
    if not action.startswith("http"):
        prefix = (
            _ACTION_PREFIXES[0]
            if action in ("CreateResponse", "DeleteResponse", "GetResponse")
            else (_ACTION_PREFIXES[1])
        )
        action = prefix + action
    return (
        f"{_ENVELOPE_OPEN}<s:Header><a:Action>{escape(action)}</a:Action>"
        f"<a:MessageID>uuid:{str(uuid.uuid4()).upper()}</a:MessageID>"
        "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>"
        f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo></s:Header>"
        f"<s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault_envelope(
    relates_to: str, code: int | None, reason: str, subcode: str = "w:InternalError"
) -> bytes:
    """A SOAP fault shaped like the ones WinRM sends, so pypsrp raises WSManFaultError(code)."""
    code_attr = f" Code={quoteattr(str(code))}" if code is not None else ""
    body = (
        "<s:Fault><s:Code><s:Value>s:Receiver</s:Value>"
        f"<s:Subcode><s:Value>{escape(subcode)}</s:Value></s:Subcode></s:Code>"
        f'<s:Reason><s:Text xml:lang="en-US">{escape(reason)}</s:Text></s:Reason>'
        f'<s:Detail><f:WSManFault xmlns:f="{NS["wsmanfault"]}"{code_attr} Machine="127.0.0.1">'
        f"<f:Message>{escape(reason)}</f:Message></f:WSManFault></s:Detail></s:Fault>"
    )
    return envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


def create_response(address: str, resource_uri: str, shell_id: str, owner: str) -> str:
    """CreateResponse body: pypsrp reads the ShellId from ResourceCreated's SelectorSet."""
    return (
        f"<x:ResourceCreated><a:Address>{escape(address)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{escape(resource_uri)}</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        "</a:ReferenceParameters></x:ResourceCreated>" + shell_xml(shell_id, resource_uri, owner)
    )


def shell_xml(shell_id: str, resource_uri: str, owner: str) -> str:
    """The rsp:Shell description returned by Create and Get."""
    return (
        f"<rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
        f"<rsp:ResourceUri>{escape(resource_uri)}</rsp:ResourceUri>"
        f"<rsp:Owner>{escape(owner)}</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>"
        "<rsp:ProcessId>4242</rsp:ProcessId><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>"
        "<rsp:InputStreams>stdin pr</rsp:InputStreams><rsp:OutputStreams>stdout</rsp:OutputStreams>"
        "<rsp:State>Connected</rsp:State>"
        "<rsp:ShellRunTime>P0DT0H0M1S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
        "</rsp:Shell>"
    )


def receive_response(stream_b64: list[str], command_id: str | None, state: str | None) -> str:
    """ReceiveResponse body with one rsp:Stream per chunk and an optional CommandState."""
    cmd_attr = f' CommandId="{command_id}"' if command_id else ""
    parts = ["<rsp:ReceiveResponse>"]
    parts.extend(
        f'<rsp:Stream Name="stdout"{cmd_attr}>{chunk}</rsp:Stream>' for chunk in stream_b64
    )
    if command_id and state:
        parts.append(f'<rsp:CommandState{cmd_attr} State="{SHELL_STATE}{state}"/>')
    parts.append("</rsp:ReceiveResponse>")
    return "".join(parts)


def config_response(max_envelope_kb: int) -> str:
    """Answer to WSMan.update_max_payload_size()'s Get of the winrm config."""
    return (
        f"<cfg:Config><cfg:MaxEnvelopeSizekb>{max_envelope_kb}</cfg:MaxEnvelopeSizekb></cfg:Config>"
    )
