#!/usr/bin/env python3
"""Peers for FieldKit's route benchmark, and the comparison table.

    peers.py solve --solver elkai|ortools|pyvrp [--budget-ms MS] [--runs N] FILE...
    peers.py table --optima OPTIMA.txt... LABEL=RESULTS.txt...

`solve` reads the same TSPLIB / VRPLIB files as `route-bench` (its own reader, with the
TSPLIB 95 distance rules: EUC_2D nint, GEO with DDD.MM coordinates, EXPLICIT layouts, plus the
VRPLIB SERVICE_TIME / TIME_WINDOW / DEPOT sections) and prints the same line per instance:

    NAME LENGTH MILLISECONDS PROVEN_OPTIMAL(yes|no) [unserved=K] [late=K]

LENGTH is recomputed here from the returned tour on the instance's own matrix, and the tour is
replayed against the windows (late=K counts stops reached after their window closed), so no
solver's own objective is trusted. MILLISECONDS is the median over --runs of the solver call
alone (model building excluded); LENGTH is the median length. None of these solvers proves
optimality, so the fourth field is always "no".

- elkai (LKH 3, its default 10 runs; no time limit to set): TSP and ATSP only, so days with
  windows are skipped.
- OR-Tools routing: first route by PATH_CHEAPEST_ARC, then GUIDED_LOCAL_SEARCH until
  --budget-ms; with windows, each stop may be dropped at a prohibitive penalty (a dropped
  stop shows as unserved=K).
- PyVRP: hybrid genetic search until --budget-ms (MaxRuntime).

Installed only for the benchmark (bench/route/requirements.txt); elkai's licence is
non-commercial, so it is a yardstick here and never a dependency of FieldKit.
"""

import argparse
import math
import statistics
import sys
import time
from collections import defaultdict

# --------------------------------------------------------------------------------------
# Instances


class Instance:
    def __init__(self, name, matrix, depot, service, windows, coords):
        self.name = name
        self.matrix = matrix
        self.n = len(matrix)
        self.depot = depot
        self.service = service
        self.windows = windows
        self.coords = coords

    @property
    def timed(self):
        return any(w is not None for w in self.windows)


def nint(x):
    return int(math.floor(x + 0.5))


def geo_radians(x):
    pi = 3.141592
    deg = math.trunc(x)
    minutes = x - deg
    return pi * (deg + 5.0 * minutes / 3.0) / 180.0


def geo(a, b):
    rrr = 6378.388
    lat_a, lng_a, lat_b, lng_b = geo_radians(a[0]), geo_radians(a[1]), geo_radians(b[0]), geo_radians(b[1])
    q1 = math.cos(lng_a - lng_b)
    q2 = math.cos(lat_a - lat_b)
    q3 = math.cos(lat_a + lat_b)
    return int(rrr * math.acos(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)) + 1.0)


def att(a, b):
    r = math.sqrt(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) / 10.0)
    t = nint(r)
    return t + 1 if t < r else t


DISTANCES = {
    "EUC_2D": lambda a, b: nint(math.hypot(a[0] - b[0], a[1] - b[1])),
    "CEIL_2D": lambda a, b: math.ceil(math.hypot(a[0] - b[0], a[1] - b[1])),
    "MAN_2D": lambda a, b: nint(abs(a[0] - b[0]) + abs(a[1] - b[1])),
    "MAX_2D": lambda a, b: max(nint(abs(a[0] - b[0])), nint(abs(a[1] - b[1]))),
    "ATT": att,
    "GEO": geo,
}


def explicit(n, fmt, values):
    m = [[0] * n for _ in range(n)]
    it = iter(values)

    def put(a, b):
        v = next(it)
        m[a][b] = v
        m[b][a] = v

    if fmt == "FULL_MATRIX":
        for a in range(n):
            for b in range(n):
                m[a][b] = next(it)
    elif fmt in ("UPPER_ROW", "LOWER_COL"):
        for a in range(n):
            for b in range(a + 1, n):
                put(a, b)
    elif fmt in ("LOWER_ROW", "UPPER_COL"):
        for a in range(n):
            for b in range(a):
                put(a, b)
    elif fmt in ("UPPER_DIAG_ROW", "LOWER_DIAG_COL"):
        for a in range(n):
            for b in range(a, n):
                put(a, b)
    elif fmt in ("LOWER_DIAG_ROW", "UPPER_DIAG_COL"):
        for a in range(n):
            for b in range(a + 1):
                put(a, b)
    else:
        raise ValueError(f"EDGE_WEIGHT_FORMAT {fmt} is not supported")
    for a in range(n):
        m[a][a] = 0
    return m


def number(token):
    value = float(token)
    return int(value) if value.is_integer() else value


def read_instance(path):
    header, sections, current = {}, defaultdict(list), None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            if line[0].isalpha():
                current = None
                if line == "EOF":
                    break
                if ":" in line:
                    key, value = (part.strip() for part in line.split(":", 1))
                    if key.endswith("_SECTION"):
                        current = key
                        sections[key].extend(number(t) for t in value.split())
                    else:
                        header[key] = value
                elif line.endswith("_SECTION"):
                    current = line
                    sections[current]
                else:
                    raise ValueError(f"unexpected line {line!r}")
            elif current is not None:
                sections[current].extend(number(t) for t in line.split())
    name = header.get("NAME", "unnamed").removesuffix(".tsp")
    n = int(header["DIMENSION"])
    kind = header["EDGE_WEIGHT_TYPE"]
    coords = None
    if kind == "EXPLICIT":
        matrix = explicit(n, header.get("EDGE_WEIGHT_FORMAT", "FULL_MATRIX"), sections["EDGE_WEIGHT_SECTION"])
    else:
        values = sections["NODE_COORD_SECTION"]
        coords = [(values[3 * i + 1], values[3 * i + 2]) for i in range(n)]
        dist = DISTANCES[kind]
        matrix = [[0 if a == b else dist(coords[a], coords[b]) for b in range(n)] for a in range(n)]
    service = [0] * n
    values = sections.get("SERVICE_TIME_SECTION", [])
    for i in range(0, len(values), 2):
        service[int(values[i]) - 1] = values[i + 1]
    windows = [None] * n
    values = sections.get("TIME_WINDOW_SECTION", [])
    for i in range(0, len(values), 3):
        windows[int(values[i]) - 1] = (values[i + 1], values[i + 2])
    depots = sections.get("DEPOT_SECTION", [])
    depot = int(depots[0]) - 1 if depots else 0
    return Instance(name, matrix, depot, service, windows, coords)


def replay(inst, tour):
    """Length, unserved count and late count of `tour` (node list from the depot back to it)."""
    assert tour[0] == inst.depot and tour[-1] == inst.depot, tour
    length = sum(inst.matrix[a][b] for a, b in zip(tour, tour[1:]))
    visited = set(tour[1:-1])
    unserved = sum(1 for v in range(inst.n) if v != inst.depot and v not in visited)
    late = 0
    if inst.timed:
        open_, close = inst.windows[inst.depot] or (0, math.inf)
        t = open_
        for a, b in zip(tour, tour[1:]):
            t += inst.matrix[a][b]
            if b == inst.depot:
                late += t > close
                break
            o, c = inst.windows[b] or (-math.inf, math.inf)
            late += t > c
            t = max(t, o) + inst.service[b]
    return length, unserved, late


def rotate_to_depot(inst, cycle):
    """A closed tour from any start: depot ... depot."""
    if cycle[0] == cycle[-1]:
        cycle = cycle[:-1]
    k = cycle.index(inst.depot)
    cycle = cycle[k:] + cycle[:k]
    return cycle + [inst.depot]


# --------------------------------------------------------------------------------------
# Solvers: each returns the tour (depot ... depot) or None if none was found.


def solve_elkai(inst, budget_ms, seed):
    import elkai

    if inst.timed:
        return "skip"
    cycle = elkai.DistanceMatrix(inst.matrix).solve_tsp()
    return rotate_to_depot(inst, cycle)


def solve_ortools(inst, budget_ms, seed):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = inst.n
    manager = pywrapcp.RoutingIndexManager(n, 1, inst.depot)
    routing = pywrapcp.RoutingModel(manager)
    matrix = inst.matrix

    def distance(i, j):
        return int(matrix[manager.IndexToNode(i)][manager.IndexToNode(j)])

    transit = routing.RegisterTransitCallback(distance)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    if inst.timed:
        open_, close = inst.windows[inst.depot] or (0, 10**9)

        def duration(i, j):
            a, b = manager.IndexToNode(i), manager.IndexToNode(j)
            return int(matrix[a][b] + inst.service[a])

        travel = routing.RegisterTransitCallback(duration)
        horizon = int(close)
        routing.AddDimension(travel, horizon, horizon, False, "Time")
        time_dim = routing.GetDimensionOrDie("Time")
        for node in range(n):
            if node == inst.depot or inst.windows[node] is None:
                continue
            o, c = inst.windows[node]
            time_dim.CumulVar(manager.NodeToIndex(node)).SetRange(int(o), int(c))
        time_dim.CumulVar(routing.Start(0)).SetRange(int(open_), int(open_))
        time_dim.CumulVar(routing.End(0)).SetRange(int(open_), int(close))
        # Stops may be dropped at a prohibitive penalty, so that a first route always exists
        # and the search works towards serving everyone (the usual OR-Tools recipe; without
        # it, PATH_CHEAPEST_ARC found no route at all for most days with windows here).
        penalty = 100 * sum(max(row) for row in matrix) + 1
        for node in range(n):
            if node != inst.depot:
                routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(budget_ms)
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    tour, index = [], routing.Start(0)
    while not routing.IsEnd(index):
        tour.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    tour.append(manager.IndexToNode(index))
    return tour


def solve_pyvrp(inst, budget_ms, seed):
    from pyvrp import Model
    from pyvrp.stop import MaxRuntime

    model = Model()
    order = [inst.depot] + [v for v in range(inst.n) if v != inst.depot]
    coords = inst.coords or [(0, 0)] * inst.n
    locations = [model.add_location(x=coords[v][0], y=coords[v][1]) for v in order]
    open_, close = inst.windows[inst.depot] or (0, None)
    depot = model.add_depot(locations[0], tw_early=int(open_), **({"tw_late": int(close)} if close else {}))
    for loc, v in zip(locations[1:], order[1:]):
        kw = {"service_duration": int(inst.service[v])}
        if inst.windows[v] is not None:
            kw["tw_early"], kw["tw_late"] = int(inst.windows[v][0]), int(inst.windows[v][1])
        model.add_client(loc, **kw)
    vt = {"num_available": 1, "start_depot": depot, "end_depot": depot, "tw_early": int(open_)}
    if close is not None:
        vt["tw_late"] = int(close)
    model.add_vehicle_type(**vt)
    for a, va in enumerate(order):
        for b, vb in enumerate(order):
            d = int(inst.matrix[va][vb])
            model.add_edge(locations[a], locations[b], distance=d, duration=d)
    started = time.perf_counter()
    result = model.solve(stop=MaxRuntime(budget_ms / 1000.0), seed=seed, display=False, collect_stats=False)
    elapsed = time.perf_counter() - started
    routes = result.best.routes()
    # Client activities are numbered among clients (0-based), which were added in `order[1:]`.
    visits = [order[1 + a.idx] for a in routes[0] if a.is_client()] if routes else []
    tour = [inst.depot] + visits + [inst.depot]
    return tour, elapsed


SOLVERS = {"elkai": solve_elkai, "ortools": solve_ortools, "pyvrp": solve_pyvrp}


def fmt_length(x):
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def cmd_solve(args):
    solver = SOLVERS[args.solver]
    for path in args.files:
        inst = read_instance(path)
        lengths, times, unserved, late = [], [], 0, 0
        skipped = failed = False
        for run in range(args.runs):
            started = time.perf_counter()
            answer = solver(inst, args.budget_ms, args.seed + run)
            elapsed = time.perf_counter() - started
            if isinstance(answer, tuple):
                answer, elapsed = answer
            if answer == "skip":
                skipped = True
                break
            if answer is None:
                failed = True
                times.append(elapsed * 1000)
                continue
            length, u, lt = replay(inst, answer)
            lengths.append(length)
            times.append(elapsed * 1000)
            unserved, late = max(unserved, u), max(late, lt)
        if skipped:
            print(f"# {inst.name}: {args.solver} has no time windows")
            continue
        ms = statistics.median(times)
        if failed or not lengths:
            print(f"{inst.name} - {ms:.1f} no unserved={inst.n - 1}")
            continue
        line = f"{inst.name} {fmt_length(statistics.median(lengths))} {ms:.1f} no"
        if unserved:
            line += f" unserved={unserved}"
        if late:
            line += f" late={late}"
        print(line, flush=True)


# --------------------------------------------------------------------------------------
# The comparison table


def read_results(path):
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.split()
            name, length, ms, proven = parts[:4]
            extras = dict(p.split("=", 1) for p in parts[4:] if "=" in p)
            ok = not extras and length != "-"
            out[name.removesuffix(".tsp")] = {
                "length": None if length == "-" else float(length),
                "ms": float(ms),
                "proven": proven == "yes",
                "ok": ok,
                "note": " ".join(f"{k}={v}" for k, v in extras.items()),
            }
    return out


def read_optima(paths):
    optima = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    name, value = line.split()[:2]
                    optima[name] = float(value)
    return optima


def cell(result, reference):
    if result is None:
        return "—"
    if result["length"] is None or not result["ok"]:
        return f"infeasible {result['note']} · {result['ms']:.0f} ms"
    gap = (result["length"] - reference) / reference * 100 if reference else float("nan")
    proven = " ✓" if result["proven"] else ""
    return f"{gap:+.2f} %{proven} · {result['ms']:.0f} ms"


def cmd_table(args):
    optima = read_optima(args.optima)
    labels, results = [], {}
    for spec in args.results:
        label, path = spec.split("=", 1)
        labels.append(label)
        results[label] = read_results(path)
    names = []
    for label in labels:
        for name in results[label]:
            if name not in names:
                names.append(name)
    tsplib = [n for n in names if not n.startswith("field-")]
    field = [n for n in names if n.startswith("field-") and n in optima]
    others = [n for n in names if n.startswith("field-") and n not in optima]

    print("### TSPLIB (gap to the proven optimum · median time; ✓ = proven optimal by the solver)\n")
    print("| instance | optimum | " + " | ".join(labels) + " |")
    print("|---|---:|" + "---|" * len(labels))
    for name in tsplib:
        ref = optima.get(name)
        row = [cell(results[label].get(name), ref) for label in labels]
        print(f"| {name} | {fmt_length(ref) if ref else '?'} | " + " | ".join(row) + " |")

    print("\n### Random field days (two per size and kind; optimal = equal to the exact optimum)\n")
    print("| stops | windows | " + " | ".join(labels) + " |")
    print("|---:|---|" + "---|" * len(labels))
    groups = defaultdict(list)
    for name in field:
        _, stops, kind, _ = name.split("-")
        groups[(int(stops), kind)].append(name)
    for (stops, kind), members in sorted(groups.items()):
        row = []
        for label in labels:
            rs = [(results[label].get(n), optima[n]) for n in members]
            if any(r is None for r, _ in rs):
                row.append("—")
                continue
            complete = [(r, ref) for r, ref in rs if r["length"] is not None and r["ok"]]
            gaps = [(r["length"] - ref) / ref * 100 for r, ref in complete]
            opt = sum(1 for g in gaps if abs(g) < 1e-9)
            proven = sum(1 for r, _ in rs if r["proven"])
            ms = statistics.median(r["ms"] for r, _ in rs)
            text = f"{opt}/{len(rs)} opt"
            if gaps and max(gaps) > 1e-9:
                text += f", max +{max(gaps):.2f} %"
            if len(complete) < len(rs):
                text += f", {len(rs) - len(complete)} left stops out"
            if proven:
                text += f", {proven} proven"
            row.append(f"{text} · {ms:.1f} ms")
        print(f"| {stops} | {'yes' if kind == 'tw' else 'no'} | " + " | ".join(row) + " |")

    if others:
        print("\n### Instances without a known optimum (gap to the best length any solver found)\n")
        print("| instance | best found | " + " | ".join(labels) + " |")
        print("|---|---:|" + "---|" * len(labels))
        for name in others:
            lengths = [
                r["length"]
                for label in labels
                if (r := results[label].get(name)) and r["ok"] and r["length"] is not None
            ]
            best = min(lengths) if lengths else None
            row = [cell(results[label].get(name), best) for label in labels]
            print(f"| {name} | {fmt_length(best) if best else '—'} | " + " | ".join(row) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("solve", help="solve instances with one peer")
    s.add_argument("--solver", choices=sorted(SOLVERS), required=True)
    s.add_argument("--budget-ms", type=int, default=500)
    s.add_argument("--runs", type=int, default=1)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("files", nargs="+")
    t = sub.add_parser("table", help="print the comparison table")
    t.add_argument("--optima", action="append", default=[])
    t.add_argument("results", nargs="+", help="LABEL=results file")
    args = parser.parse_args()
    if args.command == "solve":
        cmd_solve(args)
    else:
        cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
