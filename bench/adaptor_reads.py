"""The same read, ``instance.get`` of one instance, over every adaptor of one slapgate master.

SLAP (upstream's JSON API, ``slapos.get.v0.software_instance``, the caller believed on loopback),
XML-RPC (``/xmlrpc``, ``instance.get`` with HTTP Basic), SOAP (``/soap``, ``instanceGet`` with
HTTP Basic) and REST (``GET /api/instances/<reference>``, HTTP Basic) ask the same core operation for the same instance; each figure is given as a share of
the fastest adaptor's requests/s. HTTP Basic logins are remembered by the master (one scrypt per
minute), so the figures compare the adaptors, not password hashing.
"""

import base64
import json
import xmlrpc.client

from bench.harness import RESULT_HEADER, BenchError, fetch, result_row, write_requests



def _basic(login, password):
    return "Basic " + base64.b64encode(("%s:%s" % (login, password)).encode()).decode()


def slap_read(reference, login, password):
    """The SLAP JSON API's read of an instance."""
    return {"method": "POST", "path": "/slap/slapos.get.v0.software_instance",
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"instance_guid": reference})}


def xmlrpc_read(reference, login, password):
    """XML-RPC ``instance.get``."""
    return {"method": "POST", "path": "/xmlrpc",
            "headers": {"Content-Type": "text/xml", "Authorization": _basic(login, password)},
            "body": xmlrpc.client.dumps(({"reference": reference},), "instance.get")}


def soap_read(reference, login, password):
    """SOAP 1.1 ``instanceGet``."""
    from protocols.soap_api import NS

    body = ('<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap='
            '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:s="%s"><soap:Body>'
            "<s:instanceGet><s:reference>%s</s:reference></s:instanceGet></soap:Body>"
            "</soap:Envelope>" % (NS, reference))
    return {"method": "POST", "path": "/soap",
            "headers": {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""',
                        "Authorization": _basic(login, password)},
            "body": body}


def rest_read(reference, login, password):
    """REST ``GET /api/instances/{reference}``."""
    return {"method": "GET", "path": "/api/instances/%s" % reference,
            "headers": {"Authorization": _basic(login, password)}}


ADAPTORS = (("SLAP (JSON API)", slap_read), ("XML-RPC", xmlrpc_read), ("SOAP", soap_read),
            ("REST", rest_read))


def measure(run, base_url, reference, title, login, password, connections):
    """Each adaptor's read at each concurrency; (markdown lines, figures for the targets)."""
    results = {}
    for name, build in ADAPTORS:
        request = build(reference, login, password)
        body = request.get("body")
        status, _, answer = fetch(base_url.rstrip("/") + request["path"],
                                  body.encode() if body else None, request["headers"])
        if status != 200 or title.encode() not in answer:
            raise BenchError("%s read of %s answered %d without its title:\n%s"
                             % (name, reference, status, answer[:2000].decode("utf-8", "replace")))
        slug = "".join(c for c in name if c.isalnum()).lower()
        script = write_requests(run.work / ("read-%s.lua" % slug), [request])
        for c in connections:
            results[(c, name)] = run.measure("read %s" % name, base_url, c, "scenario.lua",
                                             (script,))
    lines = [
        "## The same read over every adaptor: `instance.get` of `%s`" % reference,
        "",
        "- one slapgate master on the poll's fleet; SLAP: `POST /slap/slapos.get.v0.software_instance`"
        " (JSON); XML-RPC: `POST /xmlrpc` `instance.get` (HTTP Basic); SOAP: `POST /soap`"
        " `instanceGet` (HTTP Basic); REST: `GET /api/instances/<reference>` (HTTP Basic)",
        "",
        RESULT_HEADER[0] % "concurrent / adaptor", RESULT_HEADER[1],
    ]
    figures = {}
    for c in connections:
        fastest = max(results[(c, name)]["rps"] for name, _ in ADAPTORS)
        for name, _ in ADAPTORS:
            lines.append(result_row("%d / %s" % (c, name), results[(c, name)]))
        figures[c] = {name: results[(c, name)]["rps"] / fastest if fastest else float("nan")
                      for name, _ in ADAPTORS}
    lines += ["", "| concurrent | " + " | ".join("%s / fastest" % n for n, _ in ADAPTORS) + " |",
              "|---:|" + "---:|" * len(ADAPTORS)]
    for c in connections:
        lines.append("| %d | " % c + " | ".join("%.0f%%" % (100 * figures[c][n])
                                                for n, _ in ADAPTORS) + " |")
    return lines, figures[max(connections)]
