# A hostile cell: processes that try to outlive the submission, a 1 MB line, a fork bomb,
# and a SIGKILL for its parent.
import os
import signal
import subprocess
import time

subprocess.Popen(["sleep", "600"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    time.sleep(600)
    os._exit(0)
print("x" * 1_000_000)
children = []
try:
    while len(children) < 100_000:
        pid = os.fork()
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        children.append(pid)
except OSError as err:
    print("fork bomb stopped after", len(children), "processes:", type(err).__name__)
for pid in children:  # free the process table again, so that the kernel lives on
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError as err:
    print("cannot kill the parent:", err)
