"""The message templates, as data: per language, a subject and a first line per event, and the lines.

Placeholders are filled by `compose`: `{cluster}`, `{cluster_id}`, `{project}`, `{region}`,
`{detail}`, `{seconds}`, `{client}`, `{at}`, `{next}`, `{url}`, `{consecutive}`, `{since}`.
"""

from __future__ import annotations

from collections.abc import Mapping

#: Per language, per event: (subject, what happened and why).
EVENTS: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "en": {
        "planned": (
            "[dws-rebalancer] Switchover planned for {cluster} at {at}",
            "A switchover of {cluster} is planned for {at}; it runs then unless vetoed "
            "(`dws-rebalancer veto {cluster}`). {detail}",
        ),
        "started": (
            "[dws-rebalancer] Switchover started on {cluster}",
            "A switchover of {cluster} started ({detail}).",
        ),
        "succeeded": (
            "[dws-rebalancer] Switchover succeeded on {cluster}",
            "The switchover of {cluster} succeeded: the cluster is balanced.",
        ),
        "failed": (
            "[dws-rebalancer] Switchover FAILED on {cluster}",
            "The switchover of {cluster} failed: {detail}",
        ),
        "timed_out": (
            "[dws-rebalancer] Switchover timed out on {cluster}",
            "The switchover of {cluster} was still running after the timeout: {detail}",
        ),
        "breaker_opened": (
            "[dws-rebalancer] Breaker open on {cluster}: no more switchovers",
            "{consecutive} switchovers of {cluster} failed in a row: no more are tried until "
            "someone looks at the cluster and runs `dws-rebalancer reset-breaker {cluster}`.",
        ),
        "stuck": (
            "[dws-rebalancer] {cluster} unbalanced since {since}",
            "{cluster} has been unbalanced since {since} and nothing could rebalance it: {detail}",
        ),
        "permission_denied": (
            "[dws-rebalancer] Permission denied on {cluster}",
            "DWS refused the switchover of {cluster}: {detail} "
            "(grant dws:cluster:switchover to the controller's identity).",
        ),
        "unhealthy": (
            "[dws-rebalancer] Controller unhealthy: {consecutive} cycles failed",
            "The last {consecutive} poll cycles failed ({detail}); "
            "no switchover runs while the controller cannot see the clusters.",
        ),
    },
    "zh": {
        "planned": (
            "[dws-rebalancer] 计划于 {at} 对 {cluster} 执行主备切换",
            "计划于 {at} 对集群 {cluster} 执行主备切换；如不否决（`dws-rebalancer veto {cluster}`），"
            "届时将自动执行。{detail}",
        ),
        "started": (
            "[dws-rebalancer] {cluster} 主备切换已开始",
            "集群 {cluster} 的主备切换已开始（{detail}）。",
        ),
        "succeeded": (
            "[dws-rebalancer] {cluster} 主备切换成功",
            "集群 {cluster} 的主备切换成功，集群已恢复均衡。",
        ),
        "failed": (
            "[dws-rebalancer] {cluster} 主备切换失败",
            "集群 {cluster} 的主备切换失败：{detail}",
        ),
        "timed_out": (
            "[dws-rebalancer] {cluster} 主备切换超时",
            "集群 {cluster} 的主备切换超过超时时间仍未结束：{detail}",
        ),
        "breaker_opened": (
            "[dws-rebalancer] {cluster} 熔断已打开，不再尝试切换",
            "集群 {cluster} 连续 {consecutive} 次主备切换失败，已停止尝试；请检查集群后执行 "
            "`dws-rebalancer reset-breaker {cluster}`。",
        ),
        "stuck": (
            "[dws-rebalancer] {cluster} 自 {since} 起持续不均衡",
            "集群 {cluster} 自 {since} 起一直处于不均衡状态，无法执行切换：{detail}",
        ),
        "permission_denied": (
            "[dws-rebalancer] {cluster} 权限不足",
            "DWS 拒绝了集群 {cluster} 的主备切换：{detail}（请为控制器授予 dws:cluster:switchover 权限）。",
        ),
        "unhealthy": (
            "[dws-rebalancer] 控制器异常：连续 {consecutive} 个周期失败",
            "最近 {consecutive} 个轮询周期均失败（{detail}）；在恢复对集群的观测之前不会执行任何切换。",
        ),
    },
}

#: Per language, the body's other lines; a line whose value is missing is left out.
LINES: Mapping[str, Mapping[str, str]] = {
    "en": {
        "cluster": "Cluster: {cluster} ({cluster_id})",
        "target": "Project: {project}, region {region}",
        "interruption": "Interruption: {seconds} s (control plane)",
        "client": "Clients felt: {client}",
        "client_none": "Clients felt: not measured (the probe gave no answer)",
        "next": "Next eligible: {next}",
        "dashboard": "Dashboard: {url}",
    },
    "zh": {
        "cluster": "集群：{cluster}（{cluster_id}）",
        "target": "项目：{project}，区域 {region}",
        "interruption": "中断时长：{seconds} 秒（控制面）",
        "client": "客户端感知：{client}",
        "client_none": "客户端感知：未测量（探测无结果）",
        "next": "下次可切换时间：{next}",
        "dashboard": "监控面板：{url}",
    },
}

#: Per language, what clients felt as the probe measured it.
CLIENT: Mapping[str, Mapping[str, str]] = {
    "en": {
        "outage": "{seconds} s without a working connection ({samples} probes)",
        "none": "no failed probe ({samples} probes)",
        "empty": "the probe took no samples",
    },
    "zh": {
        "outage": "连续 {seconds} 秒无法连接或查询（共 {samples} 次探测）",
        "none": "探测全部成功（共 {samples} 次探测）",
        "empty": "探测未取得样本",
    },
}
