"""Log masking shared by the deployables.

Like `settingsupport/` and `sqlsupport/`, a library, not a deployable: the Rasa server
(`python -m assistant`), the action server (`rasa_sdk_plugins`) and the desk (`python -m desk`)
each install `masking.install_log_masking` once at start-up, so no log line of any process
carries a customer's e-mail address, phone or card number, or one of the process's secrets.
"""
