#!/usr/bin/env python3
"""Writes a synthetic Claude Code home for the ingestion benchmark.

    bench/gen_claude_home.py OUT_DIR [--files 1000] [--lines 1000] [--seed 1]

OUT_DIR gets `projects/<project>/<session>.jsonl` files in the shapes Claude
Code writes (../shared/data/formats/): user lines with text and tool results,
assistant lines with thinking, text and tool_use blocks whose one API response
is often split over several lines carrying the same message.id + requestId
(the early copies with a partial output_tokens), `type:"progress"` lines that
nest a sub-agent's message under data.message, sub-agent files
(`<session>/subagents/agent-<id>.jsonl`, isSidechain true) that replay some of
their parent's messages, summary and system lines, cache writes split into
5-minute and 1-hour parts, a few `<synthetic>` messages and a few requests
above 200K prompt tokens. The defaults make about 1,000,000 lines in 1,000
files, ~700 MB. The output is the same for the same arguments.

It prints what it wrote, and the expected totals of the unique responses
(tokens by kind), which both tokenbook and ccusage should find.
"""
import argparse
import json
import os
import random
import sys
import time
import uuid

MODELS = [  # (model, weight)
    ("claude-sonnet-4-5-20250929", 55),
    ("claude-opus-4-6", 15),
    ("claude-haiku-4-5-20251001", 15),
    ("claude-opus-4-5-20251101", 10),
    ("claude-sonnet-4-20250514", 5),
]
WORDS = ("the parser build passes edge rollups ledger budget cache token report session model cost write "
         "read line file test check entry offset daily month price rate table hook state index key value").split()
TOOLS = ("Read", "Edit", "Bash", "Grep", "Glob", "Write")


class Gen:
    def __init__(self, seed, long_context_share):
        self.r = random.Random(seed)
        self.long_share = long_context_share
        self.models = [m for m, w in MODELS for _ in range(w)]
        self.totals = {"input": 0, "output": 0, "cache_creation": 0, "cache_read": 0, "responses": 0}
        self.msg_counter = 0

    def words(self, n):
        r = self.r
        return " ".join(r.choice(WORDS) for _ in range(n))

    def uid(self):
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def ts(self, t):
        # t: milliseconds since the epoch
        s, ms = divmod(t, 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%03dZ" % ms

    def usage(self, model, one_hour):
        r = self.r
        if model == "<synthetic>":
            return {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0}
        inp = r.randint(1, 60)
        read = r.randint(8000, 150000)
        if r.random() < self.long_share and model.startswith("claude-sonnet"):
            read = r.randint(205000, 400000)  # above the 200K long-context threshold
        create = r.choice((0, 0, r.randint(50, 3000), r.randint(1000, 25000)))
        out = r.randint(5, 2500)
        u = {"input_tokens": inp, "cache_creation_input_tokens": create, "cache_read_input_tokens": read}
        if one_hour:
            u["cache_creation"] = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": create}
        else:
            u["cache_creation"] = {"ephemeral_5m_input_tokens": create, "ephemeral_1h_input_tokens": 0}
        u["output_tokens"] = out
        u["service_tier"] = "standard"
        return u

    def count(self, u):
        self.totals["input"] += u["input_tokens"]
        self.totals["output"] += u["output_tokens"]
        self.totals["cache_creation"] += u["cache_creation_input_tokens"]
        self.totals["cache_read"] += u["cache_read_input_tokens"]
        self.totals["responses"] += 1


def envelope(parent, sidechain, cwd, session, ts, kind, message, extra=None):
    d = {"parentUuid": parent, "isSidechain": sidechain, "userType": "external", "cwd": cwd,
         "sessionId": session, "version": "2.0.8", "gitBranch": "main"}
    if extra:
        d.update(extra)
    d["message"] = message
    d["type"] = kind
    return d


def session_lines(g, n_lines, cwd, session, t0, sidechain, replay_pool, agent_id=None):
    """Yields (line_dict, counted_usage) for one file, and collects some
    assistant lines into replay_pool for sub-agent files to replay."""
    r = g.r
    lines = []
    parent = None
    t = t0
    one_hour = r.random() < 0.5
    model = r.choice(g.models)
    while len(lines) < n_lines:
        t += r.randint(500, 60000)
        roll = r.random()
        u_id = g.uid()
        if roll < 0.30:
            if r.random() < 0.5:
                content = g.words(r.randint(5, 30))
            else:
                body = g.words(r.randint(5, 50))
                if r.random() < 0.05:
                    body += ' {"usage": {"input_tokens": 12}} printed by the tool'
                content = [{"tool_use_id": "toolu_" + u_id[:20], "type": "tool_result", "content": body}]
            d = envelope(parent, sidechain, cwd, session, None, "user", {"role": "user", "content": content})
            d["uuid"] = u_id
            d["timestamp"] = g.ts(t)
            if agent_id:
                d["agentId"] = agent_id
            lines.append(json.dumps(d, separators=(",", ":")))
            parent = u_id
            continue
        if roll < 0.33 and not sidechain:
            # A progress line nesting a sub-agent's assistant message.
            g.msg_counter += 1
            mid = "msg_p%010d%s" % (g.msg_counter, u_id[:8])
            rid = "req_p%010d%s" % (g.msg_counter, u_id[9:13])
            m = r.choice(g.models)
            u = g.usage(m, one_hour)
            g.count(u)
            inner = {"type": "assistant", "timestamp": g.ts(t),
                     "message": {"model": m, "id": mid, "type": "message", "role": "assistant",
                                 "content": [{"type": "text", "text": g.words(r.randint(3, 20))}],
                                 "stop_reason": None, "usage": u},
                     "requestId": rid, "uuid": g.uid()}
            d = {"parentUuid": parent, "isSidechain": False, "cwd": cwd, "sessionId": session,
                 "version": "2.0.8", "type": "progress",
                 "data": {"type": "agent_progress", "message": inner}, "uuid": u_id, "timestamp": g.ts(t + 1)}
            lines.append(json.dumps(d, separators=(",", ":")))
            continue
        if roll < 0.35:
            d = {"type": "summary", "summary": g.words(8), "leafUuid": u_id} if r.random() < 0.5 else {
                "parentUuid": parent, "isSidechain": sidechain, "cwd": cwd, "sessionId": session, "type": "system",
                "subtype": "compact_boundary", "content": "Conversation compacted", "uuid": u_id,
                "timestamp": g.ts(t)}
            lines.append(json.dumps(d, separators=(",", ":")))
            continue
        # One API response, written as 1 to 3 lines.
        g.msg_counter += 1
        mid = "msg_01%012d%s" % (g.msg_counter, u_id[:10].replace("-", ""))
        rid = "req_01%012d%s" % (g.msg_counter, u_id[24:34])
        m = "<synthetic>" if r.random() < 0.002 else (model if r.random() < 0.9 else r.choice(g.models))
        u = g.usage(m, one_hour)
        g.count(u)
        blocks = []
        if r.random() < 0.2:
            blocks.append({"type": "thinking", "thinking": g.words(r.randint(5, 30)), "signature": "sig" + u_id})
        if r.random() < 0.7:
            blocks.append({"type": "text", "text": g.words(r.randint(3, 20))})
        if r.random() < 0.6 or not blocks:
            tool = r.choice(TOOLS)
            blocks.append({"type": "tool_use", "id": "toolu_" + u_id[:24], "name": tool,
                           "input": {"file_path": cwd + "/src/" + r.choice(WORDS) + ".cpp"}})
        n = len(blocks)
        for k, block in enumerate(blocks):
            copy = dict(u)
            if k < n - 1:
                copy["output_tokens"] = min(u["output_tokens"], max(1, u["output_tokens"] * (k + 1) // (n + 1)))
            msg = {"id": mid, "type": "message", "role": "assistant", "model": m, "content": [block],
                   "stop_reason": None if k < n - 1 else "tool_use", "stop_sequence": None, "usage": copy}
            uu = g.uid()
            d = envelope(parent, sidechain, cwd, session, None, "assistant", msg,
                         {"agentId": agent_id} if agent_id else None)
            d["requestId"] = rid
            d["uuid"] = uu
            d["timestamp"] = g.ts(t + k * 700)
            line = json.dumps(d, separators=(",", ":"))
            lines.append(line)
            parent = uu
            if k == n - 1 and not sidechain and r.random() < 0.02:
                replay_pool.append(line)
    return lines, t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=1000, help="lines per file (about)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--subagent-share", type=float, default=0.1, help="share of files that are sub-agent files")
    ap.add_argument("--long-context-share", type=float, default=0.002,
                    help="share of Sonnet requests above 200K prompt tokens")
    a = ap.parse_args()
    g = Gen(a.seed, a.long_context_share)
    r = g.r
    n_sub = int(a.files * a.subagent_share)
    n_main = a.files - n_sub
    projects = ["proj-%d" % i for i in range(max(1, a.files // 40))]
    total_lines = 0
    total_bytes = 0
    mains = []
    t_base = 1756684800000  # 2025-09-01T00:00:00Z
    for f in range(n_main):
        proj = r.choice(projects)
        cwd = "/home/dev/work/" + proj
        session = g.uid()
        folder = os.path.join(a.out, "projects", "-home-dev-work-" + proj)
        os.makedirs(folder, exist_ok=True)
        t0 = t_base + r.randint(0, 180 * 86400 * 1000)
        pool = []
        lines, _ = session_lines(g, a.lines, cwd, session, t0, False, pool)
        path = os.path.join(folder, session + ".jsonl")
        data = "\n".join(lines) + "\n"
        with open(path, "w") as fh:
            fh.write(data)
        total_lines += len(lines)
        total_bytes += len(data)
        mains.append((folder, cwd, session, t0, pool))
    for s in range(n_sub):
        folder, cwd, session, t0, pool = mains[s % len(mains)]
        agent = "%08x" % r.getrandbits(32)
        sub_dir = os.path.join(folder, session, "subagents")
        os.makedirs(sub_dir, exist_ok=True)
        lines, _ = session_lines(g, a.lines, cwd, session, t0, True, [], agent_id=agent)
        # Replays of the parent's messages, as sidechain copies: the same
        # message.id + requestId, so they must not be counted again.
        replays = []
        for line in pool:
            d = json.loads(line)
            d["isSidechain"] = True
            replays.append(json.dumps(d, separators=(",", ":")))
        lines = replays + lines
        data = "\n".join(lines) + "\n"
        with open(os.path.join(sub_dir, "agent-%s.jsonl" % agent), "w") as fh:
            fh.write(data)
        total_lines += len(lines)
        total_bytes += len(data)
    print(json.dumps({"files": a.files, "lines": total_lines, "bytes": total_bytes,
                      "unique_responses_generated": g.totals["responses"],
                      "tokens_generated": {k: v for k, v in g.totals.items() if k != "responses"}}))


if __name__ == "__main__":
    sys.exit(main())
