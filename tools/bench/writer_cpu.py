"""Where the time of benchmark (g) goes: CPU seconds of the writer and of Redis.

    python -m tools.bench.writer_cpu [--repeats 5]

Publishes the (g) scan (10 counters, 4096-float32 spectra, 512x512 uint16
frames), times the project's ``ScanWriter`` on it, and prints the wall time
with the CPU time the writer process and the Redis server spent meanwhile;
then the same for plain h5py writing the arrays from memory (whole arrays,
and whole chunks written directly, the way the writer does). On a machine of
N cores the writer cannot take less wall time than (its CPU + Redis's) / N.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from tools.bench import worker


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import h5py
    import redis

    import blissdata_writer.scan_writer as scan_writer
    from blissdata_core.server import EmbeddedRedis

    arrays = worker._scan_arrays(20_000, 2_000, 500)
    nbytes = sum(a.nbytes for a in arrays.values())
    directory = tempfile.mkdtemp(dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    worker._warm_up("project")
    server = EmbeddedRedis().start()
    samples: dict[str, list[float]] = {"wall": [], "writer cpu": [], "redis cpu": []}
    run = scan_writer.ScanWriter.run

    def timed_run(self):  # the writer alone, not the publication before it
        info = redis.Redis.from_url(server.url).info("cpu")
        cpu, wall = _cpu(), time.perf_counter()
        try:
            return run(self)
        finally:
            samples["wall"].append(time.perf_counter() - wall)
            samples["writer cpu"].append(_cpu() - cpu)
            after = redis.Redis.from_url(server.url).info("cpu")
            samples["redis cpu"].append(
                sum(after[k] - info[k] for k in ("used_cpu_sys", "used_cpu_user"))
            )

    scan_writer.ScanWriter.run = timed_run
    try:
        for i in range(args.repeats):
            redis.Redis.from_url(server.url).flushall()
            path = os.path.join(directory, f"writer{i}.h5")
            worker._client_writer("project", server.url, path, arrays)
            os.unlink(path)
    finally:
        scan_writer.ScanWriter.run = run
        server.stop()

    def h5py_alone(direct: bool) -> tuple[float, float]:
        path = os.path.join(directory, "alone.h5")
        cpu, wall = _cpu(), time.perf_counter()
        with h5py.File(path, "w") as f:
            for name, array in arrays.items():
                if not direct:
                    f.create_dataset(name, data=array)
                    continue
                rows = worker.chunk_rows(array)
                dset = f.create_dataset(
                    name, shape=array.shape, chunks=(rows, *array.shape[1:]), dtype=array.dtype
                )
                for first in range(0, len(array) - rows + 1, rows):
                    origin = (first,) + (0,) * (array.ndim - 1)
                    dset.id.write_direct_chunk(origin, array[first : first + rows])
                rest = len(array) % rows
                if rest:
                    dset[len(array) - rest :] = array[len(array) - rest :]
        result = time.perf_counter() - wall, _cpu() - cpu
        os.unlink(path)
        return result

    print(f"{nbytes / 2**20:.0f} MiB, median of {args.repeats}:")
    med = {k: statistics.median(v) for k, v in samples.items()}
    print(
        f"  writer: wall {med['wall'] * 1e3:.0f} ms, its CPU {med['writer cpu'] * 1e3:.0f} ms, "
        f"Redis CPU {med['redis cpu'] * 1e3:.0f} ms "
        f"-> at least {(med['writer cpu'] + med['redis cpu']) / (os.cpu_count() or 1) * 1e3:.0f} ms "
        f"on {os.cpu_count()} cores"
    )
    for label, direct in (("whole arrays", False), ("whole chunks, direct", True)):
        runs = [h5py_alone(direct) for _ in range(args.repeats)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(
            f"  plain h5py from memory, {label}: wall {wall * 1e3:.0f} ms, CPU {cpu * 1e3:.0f} ms"
        )
    os.rmdir(directory)


if __name__ == "__main__":
    main()
