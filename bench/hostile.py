"""Seeded generators of hostile requests, one per face: what ``bench/fuzz.py`` sends in bulk
and the tests of each face send a few hundred of (``tests/protocols/test_*_hostile.py``).

Each generator is deterministic for a seed, so a failure names a body that can be sent again.
"""

import base64
import json
import random
import re
import urllib.parse


def cut_or_flip(rng, data, mutation, flipped_below=0.2, lowest_byte=0):
    """``data`` truncated (``mutation`` below 0.1) or with one byte replaced by one from
    ``lowest_byte`` up (below ``flipped_below``), else None: the mutations every face gets."""
    if mutation < 0.1:
        return data[:rng.randrange(len(data))]
    if mutation < flipped_below:
        at = rng.randrange(len(data))
        return data[:at] + bytes([rng.randrange(lowest_byte, 256)]) + data[at + 1:]
    return None

XMLRPC_VALUES = ["<int>1</int>", "<int>99999999999999999999</int>", "<i4>-x</i4>",
          "<double>nan</double>", "<double>1e999</double>", "<boolean>2</boolean>",
          "<string>\u00e9</string>", "<nil/>", "<dateTime.iso8601>garbage</dateTime.iso8601>",
          "<dateTime.iso8601>20261207T00:00:00</dateTime.iso8601>", "<base64>!!!</base64>",
          "<base64>AAAA</base64>", "<array><data></data></array>", "<array></array>",
          "<struct></struct>", "<struct><member><name></name></member></struct>",
          "<struct><member><value><int>1</int></value></member></struct>", "plain", "",
          "<i8>123</i8>", "<unknown>1</unknown>"]
XMLRPC_NAMES = ["url", "computer", "reference", "title", "software_release", "state", "parameters",
         "sla", "login", "period", "number", "configuration", "connection", "document",
         "device", "store", "mapping", "limit", "amount", "schema"]
XMLRPC_METHODS = ["instance.request", "computer.create", "person.create", "catalogue.add_release",
           "usage.report", "computer.format", "sync.record", "invoice.generate", "pricing.set",
           "system.multicall", "system.methodHelp", "system.methodSignature",
           "system.listMethods", "system.nothing", "nosuch.method", "person.update",
           "supply.supply", "instance.list", "tree.get"]
def hostile_bodies(seed, count):
    """``count`` generated bodies (bytes)."""
    rng = random.Random(seed)

    def value(depth=0):
        if depth < 4 and rng.random() < 0.15:
            return "<array><data>%s</data></array>" % "".join(
                "<value>%s</value>" % value(depth + 1) for _ in range(rng.randrange(3)))
        if depth < 4 and rng.random() < 0.2:
            return "<struct>%s</struct>" % "".join(
                "<member><name>%s</name><value>%s</value></member>"
                % (rng.choice(XMLRPC_NAMES), value(depth + 1)) for _ in range(rng.randrange(4)))
        return rng.choice(XMLRPC_VALUES)

    for _ in range(count):
        params = "".join("<param><value>%s</value></param>" % value()
                         for _ in range(rng.choice([0, 1, 1, 1, 2])))
        data = ("<?xml version='1.0'?><methodCall><methodName>%s</methodName><params>%s"
                "</params></methodCall>" % (rng.choice(XMLRPC_METHODS), params)).encode("utf-8")
        mutation = rng.random()
        mutated = cut_or_flip(rng, data, mutation)
        if mutated is not None:
            data = mutated
        elif mutation < 0.23:
            data = b"<a>" * 5000 + b"x" + b"</a>" * 5000
        elif mutation < 0.26:
            data = data.replace(b"<params>",
                                b"<params><param><value>" + b"<array><data><value>" * 300, 1)
        yield data


SOAP_CHILDREN = ["login", "password", "title", "software_release", "url", "computer", "reference",
            "state", "period", "number", "limit", "parameters", "sla", "roles", "document",
            "configuration", "amount", "shared", "device", "store", "mapping", "schema"]
SOAP_VALUES = ["x", "", "99999999999999999999", "-1", "nan", "1e999", "true", "maybe", "COMP-0",
          "2026-11", "<item><key>a</key><value>b</value></item>", "<item><key/></item>",
          "\u00e9", "<![CDATA[<x>]]>", "<a><b><c/></b></a>", "&amp;", "2026-13-45T99:00:00"]
SOAP_HEADERS = ["", "<x:Security xmlns:x='urn:x' soapenv:mustUnderstand='1'/>", "<junk/>"]


def hostile_envelopes(seed, count, operations, namespace):
    """``count`` (operation, content type, body) triples."""
    rng = random.Random(seed)
    for _ in range(count):
        operation = rng.choice(operations + ["noSuchOperation"])
        children = "".join("<tns:%s>%s</tns:%s>" % (name, rng.choice(SOAP_VALUES), name)
                           for name in rng.sample(SOAP_CHILDREN, rng.randrange(5)))
        envelope = (
            '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
            'soap/envelope/" xmlns:tns="%s"><soapenv:Header>%s</soapenv:Header><soapenv:Body>'
            '<tns:%s>%s</tns:%s></soapenv:Body></soapenv:Envelope>'
            % (namespace if rng.random() < 0.85 else "urn:wrong", rng.choice(SOAP_HEADERS),
               operation, children, operation)).encode("utf-8")
        mutation = rng.random()
        mutated = cut_or_flip(rng, envelope, mutation, flipped_below=0.25, lowest_byte=128)
        if mutated is not None:
            envelope = mutated
        elif mutation < 0.28:
            envelope = envelope.replace(b"<soapenv:Body>", b"<soapenv:Body>" + b"<a>" * 3000, 1)
        elif mutation < 0.32:
            envelope = b"\xff\xfe" + envelope
        content_type = rng.choice(["text/xml; charset=utf-8"] * 6
                                  + ["text/xml", "text/xml; charset=latin-1"])
        yield operation, content_type, envelope


SLAP_MARSHAL = [
    "<marshal><dictionary id='i2'><string>a</string><string>b</string></dictionary></marshal>",
    "<marshal><none/></marshal>", "<marshal><unknown/></marshal>",
    "<marshal><object id='i1' module='os' class='system'><tuple/><dictionary id='i2'/></object>"
    "</marshal>",
    "<marshal><dictionary id='i2'><string>a</string></dictionary></marshal>",
    "<marshal>" + "<list id='i9'>" * 300 + "</list>" * 300 + "</marshal>",
    "<instance><parameter>no id</parameter><parameter id='_'>{</parameter></instance>",
    "not xml", "", "<marshal>", "<journal><transaction/></journal>"]
SLAP_SCALARS = ["COMP-0", "slappart0", "", "None", "x" * 3000, "\u00e9", "-1",
                "99999999999999999999", "http://sr/software.cfg", "started", "destroyed",
                "available", "error", "True", "../"]
SLAP_FIELDS = ["computer_id", "computer_partition_id", "software_release", "software_type",
               "partition_reference", "partition_parameter_xml", "filter_xml", "state",
               "shared_xml", "connection_xml", "error_log", "message", "url", "use_string",
               "slave_reference", "new_name", "computer_configuration_xml"]


def slap_requests(seed, count, endpoints):
    """(method, path, form body or None) of SLAP calls with odd fields; ``endpoints``:
    {name: method}."""
    rng = random.Random(seed)
    names = sorted(endpoints) + ["nosuch"]
    for _ in range(count):
        name = rng.choice(names)
        fields = {field: rng.choice(SLAP_MARSHAL if "xml" in field or rng.random() < 0.2
                                    else SLAP_SCALARS)
                  for field in rng.sample(SLAP_FIELDS, rng.randrange(len(SLAP_FIELDS)))}
        if rng.random() < 0.7:
            fields["computer_id"] = "COMP-0"
        body = urllib.parse.urlencode(fields)
        if endpoints.get(name, "GET") == "GET":
            yield "GET", "/slap/%s?%s" % (name, body[:6000]), None
        else:
            yield "POST", "/slap/" + name, body.encode()


SYNCML_STORES = ["contacts", "instances", "catalogue", "invoices", "./contacts", "nowhere", ""]
SYNCML_ITEMS = ["BEGIN:VCARD\nVERSION:3.0\nFN:X %d\nEND:VCARD", "not a card", "",
                "<instance xmlns='urn:slapgate:syncml:instance:1'><title>t%d</title>"
                "<software_release>http://sr/x.cfg</software_release></instance>",
                "BEGIN:VCARD\nFN;ENCODING=QUOTED-PRINTABLE:=ZZ\nN:;;\nEND:VCARD",
                "BEGIN:VCARD\nPHOTO;ENCODING=b:!!!\nFN:p\nEND:VCARD"]


def syncml_messages(seed, count, credentials):
    """SyncML messages (bytes) of odd commands, sessions and anchors, some mutated;
    ``credentials``: base64 of login:password."""
    rng = random.Random(seed)

    def command(number):
        kind = rng.randrange(8)
        store = rng.choice(SYNCML_STORES)
        if kind == 0:
            return ("<Alert><CmdID>%d</CmdID><Data>%s</Data><Item><Target><LocURI>%s</LocURI>"
                    "</Target><Source><LocURI>./x</LocURI></Source><Meta><Anchor xmlns="
                    "'syncml:metinf'><Last>%s</Last><Next>n%d</Next></Anchor></Meta></Item>"
                    "</Alert>" % (number, rng.choice(["200", "201", "204", "205", "222", "999",
                                                      "x", ""]), store,
                                  rng.choice(["", "n1", "x" * 100]), number))
        if kind in (1, 2):
            change = rng.choice(["Add", "Replace", "Delete", "Copy", "Bogus"])
            item = rng.choice(SYNCML_ITEMS).replace("%d", str(number))
            return ("<Sync><CmdID>%d</CmdID><Target><LocURI>%s</LocURI></Target><Source>"
                    "<LocURI>./x</LocURI></Source><%s><CmdID>%d</CmdID><Item><Source><LocURI>"
                    "l%d</LocURI></Source><Data><![CDATA[%s]]></Data></Item></%s></Sync>"
                    % (number, store, change, number + 100, rng.randrange(5), item, change))
        if kind == 3:
            return ("<Map><CmdID>%d</CmdID><Target><LocURI>%s</LocURI></Target><Source><LocURI>"
                    "./x</LocURI></Source><MapItem><Target><LocURI>%s</LocURI></Target><Source>"
                    "<LocURI>l1</LocURI></Source></MapItem></Map>"
                    % (number, store, rng.choice(["admin", "", "x"])))
        if kind == 4:
            return ("<Get><CmdID>%d</CmdID><Item><Target><LocURI>%s</LocURI></Target></Item>"
                    "</Get>" % (number, rng.choice(["./devinf12", "x"])))
        if kind == 5:
            return ("<Status><CmdID>%d</CmdID><MsgRef>%s</MsgRef><CmdRef>%s</CmdRef><Cmd>Alert"
                    "</Cmd><Data>%s</Data></Status>" % (number, rng.choice(["1", "x"]),
                                                        rng.choice(["1", ""]),
                                                        rng.choice(["508", "x"])))
        return "<Exec><CmdID>%d</CmdID></Exec>" % number

    for _ in range(count):
        cred = ("<Cred><Meta><Type xmlns='syncml:metinf'>syncml:auth-basic</Type></Meta><Data>"
                "%s</Data></Cred>" % rng.choice([credentials, credentials, "!!", ""])
                if rng.random() < 0.8 else "")
        header = ("<SyncHdr><VerDTD>1.2</VerDTD><VerProto>SyncML/1.2</VerProto><SessionID>%d"
                  "</SessionID><MsgID>%s</MsgID><Target><LocURI>http://x/syncml</LocURI>"
                  "</Target><Source><LocURI>dev%d</LocURI><LocName>admin</LocName></Source>%s"
                  "<Meta><MaxMsgSize xmlns='syncml:metinf'>%s</MaxMsgSize></Meta></SyncHdr>"
                  % (rng.randrange(30), rng.choice(["1", "2", "x"]), rng.randrange(3), cred,
                     rng.choice(["5000", "x", "-1", "99999999999"])))
        data = ("<SyncML xmlns='SYNCML:SYNCML1.2'>%s<SyncBody>%s%s</SyncBody></SyncML>"
                % (header, "".join(command(n) for n in range(1, rng.randrange(1, 5))),
                   rng.choice(["<Final/>", ""]))).encode("utf-8")
        mutated = cut_or_flip(rng, data, rng.random())
        yield data if mutated is None else mutated


def requests(face, seed, count, master, auth):
    """(path, body or None, headers) of ``count`` hostile requests to ``face`` of ``master``
    (a bench.fuzz.Master), authenticated with the HTTP ``auth`` header value."""
    if face == "xmlrpc":
        for number, body in enumerate(hostile_bodies(seed, count)):
            yield ("/xmlrpc/nil" if number % 2 else "/xmlrpc", body,
                   {"Content-Type": "text/xml", "Authorization": auth})
    elif face == "soap":
        _, wsdl = master.post("/soap?wsdl", None, {})
        wsdl = wsdl.decode("utf-8")
        namespace = re.search(r'targetNamespace="([^"]+)"', wsdl).group(1)
        operations = sorted(set(re.findall(r'<wsdl:operation name="(\w+)"', wsdl)))
        for operation, content_type, body in hostile_envelopes(seed, count, operations,
                                                               namespace):
            yield "/soap", body, {"Content-Type": content_type, "Authorization": auth,
                                  "SOAPAction": '"%s"' % operation}
    elif face == "slap":
        from protocols.slap.resource import ENDPOINTS
        endpoints = {name: method.decode() for name, (method, _) in ENDPOINTS.items()}
        for method, path, body in slap_requests(seed, count, endpoints):
            yield path, body, ({"Content-Type": "application/x-www-form-urlencoded"}
                               if method == "POST" else {})
    elif face == "syncml":
        credentials = base64.b64decode(auth.split()[1]).decode()
        encoded = base64.b64encode(credentials.encode()).decode()
        for body in syncml_messages(seed, count, encoded):
            yield "/syncml", body, {"Content-Type": "application/vnd.syncml+xml"}
    elif face == "dashboard":
        yield from dashboard_requests(seed, count, master)
    elif face == "rest":
        _, document = master.post("/api/openapi.json", None, {})
        for method, path, body, content_type in rest_requests(seed, count, json.loads(document)):
            headers = {"Authorization": auth, "X-Method": method}
            if content_type:
                headers["Content-Type"] = content_type
            yield path, body, headers
    else:
        raise ValueError("no face %r" % face)


DASHBOARD_PATHS = ["/signup", "/signup/confirm", "/tickets", "/tickets/new", "/tickets/TICKET-1",
                   "/tickets/TICKET-1/reply", "/tickets/TICKET-1/close",
                   "/tickets/TICKET-1/attachments/1", "/admin/signups",
                   "/admin/signups/SIGNUP-1/accept",
                   "/login", "/logout", "/services", "/services/new", "/services/x",
                   "/services/x/stop", "/services/x/explode", "/services/%00", "/servers",
                   "/servers/new", "/servers/COMP-9", "/servers/COMP-9/supply", "/invoices",
                   "/invoices/2026-000001", "/invoices/x/pdf", "/admin", "/admin/people",
                   "/admin/people/x/roles", "/admin/people/x/disable", "/admin/catalogue", "/"]
DASHBOARD_FIELDS = ["csrf", "login", "password", "title", "url", "state", "product", "release",
                    "text", "kind", "tree", "email", "password_again", "key", "all", "reason",
                    "type", "step", "raw", "computer", "roles", "schema", "p:tcp-port", "next"]
DASHBOARD_VALUES = ["", "x", "\u00e9", "a" * 3000, "review", "request", "{", "[]",
                    '{"a": {"b": 1}}', "http://sr/x.cfg", "//evil", "COMP-0", "admin", "wizard"]


def dashboard_requests(seed, count, master):
    """Forms and queries to every page, logged in as the admin (with a valid CSRF token most
    of the time)."""
    rng = random.Random(seed)
    cookie, csrf = master.dashboard_login()
    for _ in range(count):
        fields = {name: rng.choice(DASHBOARD_VALUES)
                  for name in rng.sample(DASHBOARD_FIELDS, rng.randrange(6))}
        if rng.random() < 0.7:
            fields["csrf"] = csrf
        body = urllib.parse.urlencode(fields)
        path = rng.choice(DASHBOARD_PATHS)
        headers = {"Cookie": cookie}
        if path == "/logout":
            continue  # stays logged in
        if rng.random() < 0.5:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            yield path, body.encode(), headers
        else:
            yield path + "?" + body, None, headers


REST_VALUES = [None, True, 0, -1, 99999999999999999999, 1e308, "", "x", "\u00e9" * 300,
               "a" * 70000, "\x00", "COMP-0", "SOFTINST-1", "TICKET-1", "2026-13", "-1.5",
               [], ["x"], {}, {"a": {"b": [1, {"c": None}]}}, "http://sr/x.cfg", "../../etc"]
REST_PATH_VALUES = ["x", "COMP-0", "SOFTINST-1", "TICKET-1", "SIGNUP-1", "1", "0", "-1",
                    "%00", "%2e%2e", "a" * 2000, "%C3%A9", "%FF", "1e9"]
REST_TYPES = ["application/json", "application/json; charset=latin-1", "text/plain",
              "application/xml", None, "multipart/form-data; boundary=x"]


def _schema_of(document, schema):
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def rest_requests(seed, count, document):
    """(method, path, body or None, content type) of requests to every route of the OpenAPI
    ``document``: odd path values and queries, bodies from each route's schema with members
    dropped, retyped, unknown or duplicated, odd JSON, wrong media types, cut or flipped."""
    rng = random.Random(seed)
    routes = [(method.upper(), path, spec) for path, methods in document["paths"].items()
              for method, spec in methods.items()]
    for _ in range(count):
        method, template, spec = rng.choice(routes)
        path = "/api" + re.sub(r"\{\w+\}", lambda _: rng.choice(REST_PATH_VALUES), template)
        if rng.random() < 0.5:
            names = [p["name"] for p in spec.get("parameters", ()) if p["in"] == "query"]
            query = {name: rng.choice(["", "x", "true", "-1", "99999999999", "%00", "a" * 500])
                     for name in rng.sample(names + ["stray"], min(len(names) + 1,
                                                                     rng.randrange(4)))}
            path += "?" + urllib.parse.urlencode(query)
        body, content_type = None, None
        if method in ("POST", "PUT", "PATCH"):
            schema = spec.get("requestBody", {}).get("content", {}).get(
                "application/json", {}).get("schema", {})
            properties = _schema_of(document, schema).get("properties", {}) if schema else {}
            fields = {name: rng.choice(REST_VALUES) for name in properties
                      if rng.random() < 0.7}
            if rng.random() < 0.3:
                fields[rng.choice(["stray", "__proto__", "", "a" * 300])] = rng.choice(
                    REST_VALUES)
            text = json.dumps(fields)
            if rng.random() < 0.1 and fields:
                text = text[:-1] + ", " + text[1:]  # every member twice
            elif rng.random() < 0.1:
                text = rng.choice(["[", "{\"a\": 1e99999}", "[" * 5000 + "]" * 5000, "null",
                                   "\"x\"", "{\"a\": \"\\ud800\"}", "1" * 5000])
            body = text.encode("utf-8", "surrogatepass")
            mutated = cut_or_flip(rng, body, rng.random()) if body else None
            body = body if mutated is None else mutated
            content_type = rng.choice(REST_TYPES) if rng.random() < 0.2 else "application/json"
        yield method, path, body, content_type


def good_requests(face, count, auth):
    """(path, body or None, headers) of ``count`` well-formed requests to ``face``: the good
    traffic the memory after hostile traffic is compared with."""
    credentials = base64.b64decode(auth.split()[1]).decode()
    for number in range(count):
        if face == "xmlrpc":
            yield "/xmlrpc", ("<?xml version='1.0'?><methodCall><methodName>%s</methodName>"
                              "<params><param><value><struct/></value></param></params>"
                              "</methodCall>" % ("person.me", "catalogue.list_releases")[
                                  number % 2]).encode(), {"Content-Type": "text/xml",
                                                          "Authorization": auth}
        elif face == "soap":
            yield "/soap", (b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/'
                            b'soap/envelope/" xmlns:s="urn:slapgate:soap"><soapenv:Body>'
                            b"<s:personMe/></soapenv:Body></soapenv:Envelope>"), {
                "Content-Type": "text/xml; charset=utf-8", "Authorization": auth,
                "SOAPAction": '"personMe"'}
        elif face == "rest":
            yield ("/api/me", "/api/releases")[number % 2], None, {"Authorization": auth}
        elif face == "slap":
            yield "/slap/requestComputerPartition", urllib.parse.urlencode({
                "software_release": "http://sr.example/software.cfg",
                "partition_reference": "good-%d" % (number % 50), "software_type": "default",
                "shared_xml": "<marshal><bool>0</bool></marshal>",
                "partition_parameter_xml": "<marshal><dictionary id='i2'/></marshal>",
                "filter_xml": "<marshal><dictionary id='i2'/></marshal>",
                "state": "<marshal><string>started</string></marshal>"}).encode(), {
                "Content-Type": "application/x-www-form-urlencoded"}
        elif face == "syncml":
            login = credentials.split(":", 1)[0]
            yield "/syncml", ((
                "<SyncML xmlns='SYNCML:SYNCML1.2'><SyncHdr><VerDTD>1.2</VerDTD><VerProto>"
                "SyncML/1.2</VerProto><SessionID>%d</SessionID><MsgID>1</MsgID><Target><LocURI>"
                "http://x/syncml</LocURI></Target><Source><LocURI>good-device</LocURI><LocName>"
                "%s</LocName></Source><Cred><Meta><Type xmlns='syncml:metinf'>syncml:auth-basic"
                "</Type></Meta><Data>%s</Data></Cred><Meta><MaxMsgSize xmlns='syncml:metinf'>"
                "150000</MaxMsgSize></Meta></SyncHdr><SyncBody><Alert><CmdID>1</CmdID><Data>201"
                "</Data><Item><Target><LocURI>contacts</LocURI></Target><Source><LocURI>./c"
                "</LocURI></Source><Meta><Anchor xmlns='syncml:metinf'><Next>n%d</Next></Anchor>"
                "</Meta></Item></Alert><Final/></SyncBody></SyncML>")
                % (number, login, base64.b64encode(credentials.encode()).decode(), number)
            ).encode(), {"Content-Type": "application/vnd.syncml+xml"}
        elif face == "dashboard":
            yield "/login", None, {}
        else:
            raise ValueError("no face %r" % face)
