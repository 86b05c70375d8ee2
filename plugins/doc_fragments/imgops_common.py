"""The options every imgops module takes, documented once (module_support.COMMON_ARGUMENT_SPEC)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  config:
    description: Path of the imgops configuration file.
    type: path
    default: /etc/imgops/imgops.yml
  database_url:
    description:
      - Database URL overriding the configuration; never logged.
      - Jobs that do not use the database (C(disk), C(bugs)) accept it and ignore it, so every imgops module
        takes the same common options.
    type: str
notes:
  - Check mode runs the same code path as a real run with writes switched off, so the plan and the run
    cannot disagree.
  - A configuration problem fails the task naming the file and the key; the failure returns the same
    result envelope as a success (C(errors) holds the reason).
"""
