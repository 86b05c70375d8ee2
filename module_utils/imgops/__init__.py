"""imgops core: pure Python job logic shared by the CLI and the Ansible modules.

Nothing in this package imports Ansible. Ansible ships it to hosts as
``ansible.module_utils.imgops``; pip installs it as ``imgops``. Internal
imports are relative so both names work.
"""

__version__ = "0.1.0"
