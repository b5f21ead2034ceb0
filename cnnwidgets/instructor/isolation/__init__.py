"""What keeps a submission in its box: the sandbox, its kernels, the verifier and the bridge.

- ``sandbox``: bubblewrap around every grading process (a kernel, a verifier, a room), with
  limits, a uid of its own and no view of the course; ``SandboxKernelManager``.
- ``seccomp``: the system calls a kernel or a room may not make (classic BPF, for bwrap).
- ``watchdog``: a sandbox's processes held to its memory limit together, its folders to its
  disk limit.
- ``kernels``: kernels over Unix sockets (no port races between parallel graders).
- ``verifier``: the process that runs graded test cells with untouched modules.
- ``bridge``: values between the kernel and the verifier, as data only.
- ``environment``: what each of these processes sees in its environment.
"""
