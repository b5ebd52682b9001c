"""Scripts for the engines MSPs already run: RMM agents (:mod:`qbd_fix.exports.rmm`) and
Ansible (:mod:`qbd_fix.exports.ansible`).

Each exported script is a remediation's own script, unchanged, between an input adapter
(values as parameters or ``QBD_<NAME>`` environment variables, validated as the parameters
are) and an output adapter (the engine's exit codes, or ``$Ansible``); see
:mod:`qbd_fix.exports.script`. A library: no terminal output here.
"""
