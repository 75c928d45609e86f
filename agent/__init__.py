"""The fleet agent: runs on each traced host with stdlib + bcc (Python >= 3.8)."""
