# A hostile cell: processes that try to outlive the submission, a 50 MB line, a fork bomb,
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
print("x" * 50_000_000)
children = 0
try:
    while children < 100_000:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
except OSError as err:
    print("fork bomb stopped after", children, "processes:", err)
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError as err:
    print("cannot kill the parent:", err)
