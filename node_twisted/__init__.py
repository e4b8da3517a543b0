"""node_twisted: the slapgate node agent (software, instances, supervisord, promises, usage).

It speaks the SLAP protocol to a master; the agent arrives with its own issue.
"""
