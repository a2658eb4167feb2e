"""Running the generated training the way docker stop ends it: start the bundle's torchrun command,
wait for a step, send SIGTERM, and check that it stops cleanly with a saved checkpoint."""

import signal
import subprocess
import time


def stop_cleanly(argv, env, cwd, after="step 20 "):
    env = {**env, "TRAIN_STEPS": "1000000", "DLGEN_STEP_SLEEP_S": "0.02"}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if after in line or not line:
                break
        assert any(after in l for l in lines), "".join(lines)[-3000:]
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, "".join(lines)[-2000:] + rest[-3000:]
        assert "Traceback" not in rest and "stopped by SIGTERM; the workers saved their checkpoint at step" in rest
        return rest
    finally:
        if proc.poll() is None:
            proc.kill()
