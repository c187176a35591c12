using System.Text.Json.Nodes;

namespace Ipv6Dind.FakeKubeApi;

/// <summary>The API objects the fake answers with, shaped as the real API server's (only the fields that matter).</summary>
internal static class FakeJson
{
    private const string Created = "2025-01-01T00:00:00Z";

    public static JsonObject List(string kind, string apiVersion, JsonArray items) => new()
    {
        ["kind"] = kind,
        ["apiVersion"] = apiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = "1" },
        ["items"] = items,
    };

    public static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    /// <summary>The Status a DELETE answers with (as for a resource deleted at once, without finalizers).</summary>
    public static JsonObject Deleted(string resource, string name) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Success",
        ["details"] = new JsonObject { ["name"] = name, ["kind"] = resource },
    };

    public static JsonObject Node(string name, bool ready, string reason, string message, string internalIp, string podCidr, string kubeletVersion) => new()
    {
        ["kind"] = "Node",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = name,
            ["uid"] = Guid.NewGuid().ToString(),
            ["creationTimestamp"] = Created,
            ["labels"] = new JsonObject { ["kubernetes.io/hostname"] = name, ["kubernetes.io/os"] = "linux" },
        },
        ["spec"] = new JsonObject { ["podCIDR"] = podCidr, ["podCIDRs"] = new JsonArray(podCidr) },
        ["status"] = new JsonObject
        {
            ["conditions"] = new JsonArray(
                Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                Condition("Ready", ready ? "True" : "False", reason, message)),
            ["addresses"] = new JsonArray(
                new JsonObject { ["type"] = "InternalIP", ["address"] = internalIp },
                new JsonObject { ["type"] = "Hostname", ["address"] = name }),
            ["nodeInfo"] = new JsonObject
            {
                ["kubeletVersion"] = kubeletVersion,
                ["kubeProxyVersion"] = kubeletVersion,
                ["containerRuntimeVersion"] = "containerd://1.7.18",
                ["operatingSystem"] = "linux",
                ["architecture"] = "amd64",
            },
        },
    };

    public static JsonObject ConfigMap(string ns, string name, IReadOnlyDictionary<string, string> data)
    {
        var values = new JsonObject();
        foreach (var (k, v) in data) values[k] = v;
        return new JsonObject
        {
            ["kind"] = "ConfigMap",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["uid"] = Guid.NewGuid().ToString(), ["creationTimestamp"] = Created },
            ["data"] = values,
        };
    }

    public static JsonObject CoreDnsDeployment(int replicas) => new()
    {
        ["kind"] = "Deployment",
        ["apiVersion"] = "apps/v1",
        ["metadata"] = WorkloadMetadata("coredns", "kube-dns"),
        ["spec"] = new JsonObject
        {
            ["replicas"] = replicas,
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["k8s-app"] = "kube-dns" } },
            ["strategy"] = new JsonObject
            {
                ["type"] = "RollingUpdate",
                ["rollingUpdate"] = new JsonObject { ["maxUnavailable"] = 1, ["maxSurge"] = "25%" },
            },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["k8s-app"] = "kube-dns" } },
                ["spec"] = new JsonObject
                {
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "coredns",
                        ["image"] = "registry.k8s.io/coredns/coredns:v1.11.3",
                        ["args"] = new JsonArray("-conf", "/etc/coredns/Corefile"),
                    }),
                },
            },
        },
        ["status"] = new JsonObject(),
    };

    /// <summary>kubeadm's kube-proxy DaemonSet (cmd/kubeadm/app/phases/addons/proxy/manifests.go), the fields that matter.</summary>
    public static JsonObject KubeProxyDaemonSet(string kubernetesVersion) => new()
    {
        ["kind"] = "DaemonSet",
        ["apiVersion"] = "apps/v1",
        ["metadata"] = WorkloadMetadata("kube-proxy", "kube-proxy"),
        ["spec"] = new JsonObject
        {
            ["selector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["k8s-app"] = "kube-proxy" } },
            ["updateStrategy"] = new JsonObject
            {
                ["type"] = "RollingUpdate",
                ["rollingUpdate"] = new JsonObject { ["maxUnavailable"] = 1, ["maxSurge"] = 0 },
            },
            ["template"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["labels"] = new JsonObject { ["k8s-app"] = "kube-proxy" } },
                ["spec"] = new JsonObject
                {
                    ["containers"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "kube-proxy",
                        ["image"] = $"registry.k8s.io/kube-proxy:{kubernetesVersion}",
                        ["command"] = new JsonArray("/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"),
                        ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "kube-proxy", ["mountPath"] = "/var/lib/kube-proxy" }),
                    }),
                    ["hostNetwork"] = true,
                    ["serviceAccountName"] = "kube-proxy",
                    ["volumes"] = new JsonArray(new JsonObject { ["name"] = "kube-proxy", ["configMap"] = new JsonObject { ["name"] = "kube-proxy" } }),
                },
            },
        },
        ["status"] = new JsonObject(),
    };

    /// <summary>The pod template's kubectl.kubernetes.io/restartedAt annotation (`kubectl rollout restart`); null until restarted.</summary>
    public static string? RestartedAt(JsonObject workload) =>
        (string?)workload["spec"]!["template"]!["metadata"]!["annotations"]?["kubectl.kubernetes.io/restartedAt"];

    /// <summary>A kube-system Deployment's or DaemonSet's metadata: generation 1, label k8s-app.</summary>
    private static JsonObject WorkloadMetadata(string name, string app) => new()
    {
        ["name"] = name,
        ["namespace"] = "kube-system",
        ["uid"] = Guid.NewGuid().ToString(),
        ["generation"] = 1L,
        ["creationTimestamp"] = Created,
        ["labels"] = new JsonObject { ["k8s-app"] = app },
    };

    public static JsonObject Pod(string ns, string name, IReadOnlyDictionary<string, string> labels, string phase, bool ready, string? nodeName, string? podIp)
    {
        var labelObject = new JsonObject();
        foreach (var (k, v) in labels) labelObject[k] = v;
        var status = new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = new JsonArray(Condition("Ready", ready ? "True" : "False", ready ? null : "ContainersNotReady",
                ready ? null : "containers with unready status: [main]")),
        };
        if (podIp is not null)
        {
            status["podIP"] = podIp;
            status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp });
        }
        var spec = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "main", ["image"] = "fake" }) };
        if (nodeName is not null) spec["nodeName"] = nodeName;
        return new JsonObject
        {
            ["kind"] = "Pod",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = labelObject, ["creationTimestamp"] = Created },
            ["spec"] = spec,
            ["status"] = status,
        };
    }

    public static JsonObject Version(string gitVersion)
    {
        var parts = gitVersion.TrimStart('v').Split('.');
        return new JsonObject
        {
            ["major"] = parts.ElementAtOrDefault(0) ?? "1",
            ["minor"] = parts.ElementAtOrDefault(1) ?? "0",
            ["gitVersion"] = gitVersion,
            ["gitCommit"] = "0000000000000000000000000000000000000000",
            ["gitTreeState"] = "clean",
            ["buildDate"] = Created,
            ["goVersion"] = "go1.22.8",
            ["compiler"] = "gc",
            ["platform"] = "linux/amd64",
        };
    }

    private static JsonObject Condition(string type, string status, string? reason, string? message)
    {
        var condition = new JsonObject
        {
            ["type"] = type,
            ["status"] = status,
            ["lastHeartbeatTime"] = Created,
            ["lastTransitionTime"] = Created,
        };
        if (reason is not null) condition["reason"] = reason;
        if (message is not null) condition["message"] = message;
        return condition;
    }
}
