"""The SLAP payload formats that master and node both read and write, byte for byte as upstream:
``marshal`` (slapos.util's object marshal), ``instance_xml`` (instance parameters as
``<instance><parameter id=...>``) and ``xml_text`` (the text rules they share).

It imports nothing of the master's adaptors, so the node agent can use it alone.
"""
