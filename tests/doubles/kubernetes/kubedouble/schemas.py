# TEST DOUBLE - NOT KUBERNETES. Part of the kubeadm/kubelet/kubectl/ctr test doubles that Ipv6Dind's tests install
# in an image layer of their own; never shipped, never a stand-in for the real binaries on a real host.
#
# The JSON field names and Go types of the configuration documents the real tools decode, transcribed by hand from
# the upstream Go type definitions (read in the kubernetes/kubernetes repository, November 2026):
#
#   cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go      commit 428c3fe9540a2cbe8daf4645879a87b30bbf1d02
#       (InitConfiguration, ClusterConfiguration, JoinConfiguration, NodeRegistrationOptions, APIEndpoint,
#        Networking, Etcd/LocalEtcd/ExternalEtcd, APIServer/ControlPlaneComponent with extraArgs as
#        map[string]string, DNS/ImageMeta, Discovery/BootstrapTokenDiscovery/FileDiscovery, HostPathMount, Patches)
#   cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go      commit 1329935739c3aa007d23cb9a4dadfee9d59ff79b
#       (the released v1beta4 shape: extraArgs and kubeletExtraArgs as []Arg{name,value}, extraEnvs, Timeouts,
#        dryRun, DNS.disabled, Proxy.disabled, encryptionAlgorithm, (ca)certificateValidityPeriod, imagePullSerial;
#        APIServer.timeoutForControlPlane and Discovery.timeout are gone). An earlier development state of the same
#        file (commit 017b1e4b60ca54b08b5f18a10f109ff969c697e5, without Timeouts) was read too and NOT used.
#   cmd/kubeadm/app/apis/bootstraptoken/v1/types.go    commit 2d350a359e7b251ffa047415af6bf64350f41888
#       (BootstrapToken; the token is one string "<id>.<secret>")
#   staging/src/k8s.io/kubelet/config/v1beta1/types.go commit 001332b0422071acf4860769f18e34b5e9b7c1bc (master)
#       (KubeletConfiguration and its nested types)
#   staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go commit 052d2d84f95e90aa94868b51a48b1ae7a1c91152 (master)
#       (KubeProxyConfiguration, KubeProxyConntrackConfiguration and the other nested types)
#
# Known looseness, on purpose and named: the kubelet and kube-proxy schemas are master's, so fields added after the
# Kubernetes version in /kind/version are accepted too (e.g. kubelet failCgroupV1 exists from 1.31 on); types from
# outside these files (corev1.EnvVar.valueFrom, component-base logging options, tracing) are checked one level deep.
# Everything else is strict, stricter than kubeadm, which only warns about unknown fields: the double rejects them,
# at any depth, with the path in the message.

"""Upstream configuration schemas for the kubeadm test double."""


class Type:
    """A Go type as encoding/json (through sigs.k8s.io/yaml) decodes it."""

    name = "value"


class Scalar(Type):
    def __init__(self, name, check):
        self.name = name
        self.check = check


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


STRING = Scalar("string", lambda v: isinstance(v, str))
BOOL = Scalar("bool", lambda v: isinstance(v, bool))
INT32 = Scalar("int32", lambda v: _is_int(v) and -(2 ** 31) <= v < 2 ** 31)
UINT32 = Scalar("uint32", lambda v: _is_int(v) and 0 <= v < 2 ** 32)
INT64 = Scalar("int64", lambda v: _is_int(v) and -(2 ** 63) <= v < 2 ** 63)
FLOAT = Scalar("float", lambda v: (isinstance(v, float) or _is_int(v)))


class Duration(Type):
    """metav1.Duration: a string time.ParseDuration accepts ("5m", "1h30m", "0s")."""

    name = "duration string (e.g. \"5m0s\")"


class Time(Type):
    """metav1.Time: an RFC 3339 string (PyYAML may already have turned an unquoted one into a datetime)."""

    name = "RFC 3339 time"


class MapOf(Type):
    def __init__(self, value):
        self.value = value
        self.name = "map[string]" + value.name


class ListOf(Type):
    def __init__(self, item):
        self.item = item
        self.name = "[]" + item.name


class Struct(Type):
    def __init__(self, name, fields):
        self.name = name
        self.fields = dict(fields)

    def extend(self, name, **more):
        fields = dict(self.fields)
        fields.update(more)
        return Struct(name, fields)

    def without(self, name, *removed):
        return Struct(name, {k: v for k, v in self.fields.items() if k not in removed})


class Raw(Type):
    """A mapping whose inside is not checked here (types from outside the files listed above)."""

    def __init__(self, name):
        self.name = name


DURATION = Duration()
TIME = Time()
STRINGS = ListOf(STRING)
STRING_MAP = MapOf(STRING)

TYPE_META = {"apiVersion": STRING, "kind": STRING}

# ---- shared by kubeadm v1beta3 and v1beta4 ------------------------------------------------------------------

TAINT = Struct("Taint", {"key": STRING, "value": STRING, "effect": STRING, "timeAdded": TIME})
BOOTSTRAP_TOKEN = Struct("BootstrapToken", {
    "token": STRING, "description": STRING, "ttl": DURATION, "expires": TIME, "usages": STRINGS, "groups": STRINGS,
})
API_ENDPOINT = Struct("APIEndpoint", {"advertiseAddress": STRING, "bindPort": INT32})
HOST_PATH_MOUNT = Struct("HostPathMount", {
    "name": STRING, "hostPath": STRING, "mountPath": STRING, "readOnly": BOOL, "pathType": STRING,
})
PATCHES = Struct("Patches", {"directory": STRING})
IMAGE_META = {"imageRepository": STRING, "imageTag": STRING}
EXTERNAL_ETCD = Struct("ExternalEtcd", {"endpoints": STRINGS, "caFile": STRING, "certFile": STRING, "keyFile": STRING})
NETWORKING = Struct("Networking", {"serviceSubnet": STRING, "podSubnet": STRING, "dnsDomain": STRING})
BOOTSTRAP_TOKEN_DISCOVERY = Struct("BootstrapTokenDiscovery", {
    "token": STRING, "apiServerEndpoint": STRING, "caCertHashes": STRINGS, "unsafeSkipCAVerification": BOOL,
})
FILE_DISCOVERY = Struct("FileDiscovery", {"kubeConfigPath": STRING})
JOIN_CONTROL_PLANE = Struct("JoinControlPlane", {"localAPIEndpoint": API_ENDPOINT, "certificateKey": STRING})

# ---- kubeadm.k8s.io/v1beta3 -----------------------------------------------------------------------------------

_B3_COMPONENT = {"extraArgs": STRING_MAP, "extraVolumes": ListOf(HOST_PATH_MOUNT)}
_B3_NODE_REGISTRATION = Struct("NodeRegistrationOptions", {
    "name": STRING, "criSocket": STRING, "taints": ListOf(TAINT), "kubeletExtraArgs": STRING_MAP,
    "ignorePreflightErrors": STRINGS, "imagePullPolicy": STRING,
})
_B3_LOCAL_ETCD = Struct("LocalEtcd", dict(IMAGE_META, dataDir=STRING, extraArgs=STRING_MAP,
                                          serverCertSANs=STRINGS, peerCertSANs=STRINGS))
_B3_DISCOVERY = Struct("Discovery", {
    "bootstrapToken": BOOTSTRAP_TOKEN_DISCOVERY, "file": FILE_DISCOVERY, "tlsBootstrapToken": STRING,
    "timeout": DURATION,
})

V1BETA3 = {
    "InitConfiguration": Struct("InitConfiguration", dict(TYPE_META,
        bootstrapTokens=ListOf(BOOTSTRAP_TOKEN), nodeRegistration=_B3_NODE_REGISTRATION,
        localAPIEndpoint=API_ENDPOINT, certificateKey=STRING, skipPhases=STRINGS, patches=PATCHES)),
    "ClusterConfiguration": Struct("ClusterConfiguration", dict(TYPE_META,
        etcd=Struct("Etcd", {"local": _B3_LOCAL_ETCD, "external": EXTERNAL_ETCD}),
        networking=NETWORKING, kubernetesVersion=STRING, controlPlaneEndpoint=STRING,
        apiServer=Struct("APIServer", dict(_B3_COMPONENT, certSANs=STRINGS, timeoutForControlPlane=DURATION)),
        controllerManager=Struct("ControlPlaneComponent", _B3_COMPONENT),
        scheduler=Struct("ControlPlaneComponent", _B3_COMPONENT),
        dns=Struct("DNS", IMAGE_META), certificatesDir=STRING, imageRepository=STRING,
        featureGates=MapOf(BOOL), clusterName=STRING)),
    "JoinConfiguration": Struct("JoinConfiguration", dict(TYPE_META,
        nodeRegistration=_B3_NODE_REGISTRATION, caCertPath=STRING, discovery=_B3_DISCOVERY,
        controlPlane=JOIN_CONTROL_PLANE, skipPhases=STRINGS, patches=PATCHES)),
}

# ---- kubeadm.k8s.io/v1beta4 -----------------------------------------------------------------------------------

ARG = Struct("Arg", {"name": STRING, "value": STRING})
ARGS = ListOf(ARG)
ENV_VAR = Struct("EnvVar", {"name": STRING, "value": STRING, "valueFrom": Raw("EnvVarSource")})
TIMEOUTS = Struct("Timeouts", {
    "controlPlaneComponentHealthCheck": DURATION, "kubeletHealthCheck": DURATION, "kubernetesAPICall": DURATION,
    "etcdAPICall": DURATION, "tlsBootstrap": DURATION, "discovery": DURATION, "upgradeManifests": DURATION,
})
_B4_COMPONENT = {"extraArgs": ARGS, "extraVolumes": ListOf(HOST_PATH_MOUNT), "extraEnvs": ListOf(ENV_VAR)}
_B4_NODE_REGISTRATION = Struct("NodeRegistrationOptions", {
    "name": STRING, "criSocket": STRING, "taints": ListOf(TAINT), "kubeletExtraArgs": ARGS,
    "ignorePreflightErrors": STRINGS, "imagePullPolicy": STRING, "imagePullSerial": BOOL,
})
_B4_LOCAL_ETCD = Struct("LocalEtcd", dict(IMAGE_META, dataDir=STRING, extraArgs=ARGS, extraEnvs=ListOf(ENV_VAR),
                                          serverCertSANs=STRINGS, peerCertSANs=STRINGS))
_B4_DISCOVERY = Struct("Discovery", {
    "bootstrapToken": BOOTSTRAP_TOKEN_DISCOVERY, "file": FILE_DISCOVERY, "tlsBootstrapToken": STRING,
})

V1BETA4 = {
    "InitConfiguration": Struct("InitConfiguration", dict(TYPE_META,
        bootstrapTokens=ListOf(BOOTSTRAP_TOKEN), dryRun=BOOL, nodeRegistration=_B4_NODE_REGISTRATION,
        localAPIEndpoint=API_ENDPOINT, certificateKey=STRING, skipPhases=STRINGS, patches=PATCHES,
        timeouts=TIMEOUTS)),
    "ClusterConfiguration": Struct("ClusterConfiguration", dict(TYPE_META,
        etcd=Struct("Etcd", {"local": _B4_LOCAL_ETCD, "external": EXTERNAL_ETCD}),
        networking=NETWORKING, kubernetesVersion=STRING, controlPlaneEndpoint=STRING,
        apiServer=Struct("APIServer", dict(_B4_COMPONENT, certSANs=STRINGS)),
        controllerManager=Struct("ControlPlaneComponent", _B4_COMPONENT),
        scheduler=Struct("ControlPlaneComponent", _B4_COMPONENT),
        dns=Struct("DNS", dict(IMAGE_META, disabled=BOOL)),
        proxy=Struct("Proxy", {"disabled": BOOL}),
        certificatesDir=STRING, imageRepository=STRING, featureGates=MapOf(BOOL), clusterName=STRING,
        encryptionAlgorithm=STRING, certificateValidityPeriod=DURATION, caCertificateValidityPeriod=DURATION)),
    "JoinConfiguration": Struct("JoinConfiguration", dict(TYPE_META,
        dryRun=BOOL, nodeRegistration=_B4_NODE_REGISTRATION, caCertPath=STRING, discovery=_B4_DISCOVERY,
        controlPlane=JOIN_CONTROL_PLANE, skipPhases=STRINGS, patches=PATCHES, timeouts=TIMEOUTS)),
}

KUBEADM = {"kubeadm.k8s.io/v1beta3": V1BETA3, "kubeadm.k8s.io/v1beta4": V1BETA4}

# ---- kubelet.config.k8s.io/v1beta1 ----------------------------------------------------------------------------

LOGGING = Struct("LoggingConfiguration", {
    "format": STRING, "flushFrequency": Raw("TimeOrMetaDuration"), "verbosity": UINT32,
    "vmodule": ListOf(Struct("VModuleItem", {"filePattern": STRING, "verbosity": UINT32})),
    "options": Raw("FormatOptions"),
})

KUBELET_CONFIGURATION = Struct("KubeletConfiguration", dict(TYPE_META,
    enableServer=BOOL, staticPodPath=STRING, podLogsDir=STRING, syncFrequency=DURATION,
    fileCheckFrequency=DURATION, httpCheckFrequency=DURATION, staticPodURL=STRING,
    staticPodURLHeader=MapOf(STRINGS), address=STRING, port=INT32, readOnlyPort=INT32, tlsCertFile=STRING,
    tlsPrivateKeyFile=STRING, tlsCipherSuites=STRINGS, tlsCurvePreferences=ListOf(INT32), tlsMinVersion=STRING,
    rotateCertificates=BOOL, serverTLSBootstrap=BOOL,
    authentication=Struct("KubeletAuthentication", {
        "x509": Struct("KubeletX509Authentication", {"clientCAFile": STRING}),
        "webhook": Struct("KubeletWebhookAuthentication", {"enabled": BOOL, "cacheTTL": DURATION}),
        "anonymous": Struct("KubeletAnonymousAuthentication", {"enabled": BOOL}),
    }),
    authorization=Struct("KubeletAuthorization", {
        "mode": STRING,
        "webhook": Struct("KubeletWebhookAuthorization", {
            "cacheAuthorizedTTL": DURATION, "cacheUnauthorizedTTL": DURATION}),
    }),
    registryPullQPS=INT32, registryBurst=INT32, imagePullCredentialsVerificationPolicy=STRING,
    preloadedImagesVerificationAllowlist=STRINGS, eventRecordQPS=INT32, eventBurst=INT32,
    enableDebuggingHandlers=BOOL, enableContentionProfiling=BOOL, healthzPort=INT32, healthzBindAddress=STRING,
    oomScoreAdj=INT32, clusterDomain=STRING, clusterDNS=STRINGS, streamingConnectionIdleTimeout=DURATION,
    nodeStatusUpdateFrequency=DURATION, nodeStatusReportFrequency=DURATION, nodeLeaseDurationSeconds=INT32,
    imageMinimumGCAge=DURATION, imageMaximumGCAge=DURATION, imageGCHighThresholdPercent=INT32,
    imageGCLowThresholdPercent=INT32, volumeStatsAggPeriod=DURATION, kubeletCgroups=STRING, systemCgroups=STRING,
    cgroupRoot=STRING, cgroupsPerQOS=BOOL, cgroupDriver=STRING, cpuManagerPolicy=STRING,
    singleProcessOOMKill=BOOL, cpuManagerPolicyOptions=STRING_MAP, cpuManagerReconcilePeriod=DURATION,
    draManagerReconcilePeriod=DURATION, memoryManagerPolicy=STRING, topologyManagerPolicy=STRING,
    topologyManagerScope=STRING, topologyManagerPolicyOptions=STRING_MAP, qosReserved=STRING_MAP,
    runtimeRequestTimeout=DURATION, hairpinMode=STRING, maxPods=INT32, podCIDR=STRING, podPidsLimit=INT64,
    resolvConf=STRING, runOnce=BOOL, cpuCFSQuota=BOOL, cpuCFSQuotaPeriod=DURATION, nodeStatusMaxImages=INT32,
    maxOpenFiles=INT64, contentType=STRING, kubeAPIQPS=INT32, kubeAPIBurst=INT32, serializeImagePulls=BOOL,
    maxParallelImagePulls=INT32, evictionHard=STRING_MAP, evictionSoft=STRING_MAP,
    evictionSoftGracePeriod=STRING_MAP, evictionPressureTransitionPeriod=DURATION,
    evictionMaxPodGracePeriod=INT32, evictionMinimumReclaim=STRING_MAP, mergeDefaultEvictionSettings=BOOL,
    podsPerCore=INT32, enableControllerAttachDetach=BOOL, protectKernelDefaults=BOOL,
    makeIPTablesUtilChains=BOOL, iptablesMasqueradeBit=INT32, iptablesDropBit=INT32, featureGates=MapOf(BOOL),
    failSwapOn=BOOL, memorySwap=Struct("MemorySwapConfiguration", {"swapBehavior": STRING}),
    containerLogMaxSize=STRING, containerLogMaxFiles=INT32, containerLogMaxWorkers=INT32,
    containerLogMonitorInterval=DURATION, configMapAndSecretChangeDetectionStrategy=STRING,
    systemReserved=STRING_MAP, kubeReserved=STRING_MAP, reservedSystemCPUs=STRING,
    showHiddenMetricsForVersion=STRING, systemReservedCgroup=STRING, kubeReservedCgroup=STRING,
    enforceNodeAllocatable=STRINGS, allowedUnsafeSysctls=STRINGS, volumePluginDir=STRING, providerID=STRING,
    kernelMemcgNotification=BOOL, logging=LOGGING, enableSystemLogHandler=BOOL, enableSystemLogQuery=BOOL,
    shutdownGracePeriod=DURATION, shutdownGracePeriodCriticalPods=DURATION,
    shutdownGracePeriodByPodPriority=ListOf(Struct("ShutdownGracePeriodByPodPriority", {
        "priority": INT32, "shutdownGracePeriodSeconds": INT64})),
    crashLoopBackOff=Struct("CrashLoopBackOffConfig", {"maxContainerRestartPeriod": DURATION}),
    reservedMemory=ListOf(Struct("MemoryReservation", {"numaNode": INT32, "limits": STRING_MAP})),
    enableProfilingHandler=BOOL, enableDebugFlagsHandler=BOOL, seccompDefault=BOOL,
    memoryThrottlingFactor=FLOAT, memoryReservationPolicy=STRING, registerWithTaints=ListOf(TAINT),
    registerNode=BOOL, tracing=Struct("TracingConfiguration", {"endpoint": STRING, "samplingRatePerMillion": INT32}),
    localStorageCapacityIsolation=BOOL, containerRuntimeEndpoint=STRING, imageServiceEndpoint=STRING,
    failCgroupV1=BOOL, userNamespaces=Struct("UserNamespaces", {"idsPerPod": INT64}),
))

# ---- kubeproxy.config.k8s.io/v1alpha1 -------------------------------------------------------------------------

CONNTRACK = Struct("KubeProxyConntrackConfiguration", {
    "maxPerCore": INT32, "min": INT32, "tcpEstablishedTimeout": DURATION, "tcpCloseWaitTimeout": DURATION,
    "tcpBeLiberal": BOOL, "udpTimeout": DURATION, "udpStreamTimeout": DURATION,
})

KUBE_PROXY_CONFIGURATION = Struct("KubeProxyConfiguration", dict(TYPE_META,
    featureGates=MapOf(BOOL),
    clientConnection=Struct("ClientConnectionConfiguration", {
        "kubeconfig": STRING, "acceptContentTypes": STRING, "contentType": STRING, "qps": FLOAT, "burst": INT32}),
    logging=LOGGING, hostnameOverride=STRING, bindAddress=STRING, healthzBindAddress=STRING,
    metricsBindAddress=STRING, bindAddressHardFail=BOOL, enableProfiling=BOOL, showHiddenMetricsForVersion=STRING,
    mode=STRING,
    iptables=Struct("KubeProxyIPTablesConfiguration", {
        "masqueradeBit": INT32, "masqueradeAll": BOOL, "localhostNodePorts": BOOL, "snatNodeInternalIP": BOOL,
        "syncPeriod": DURATION, "minSyncPeriod": DURATION}),
    ipvs=Struct("KubeProxyIPVSConfiguration", {
        "syncPeriod": DURATION, "minSyncPeriod": DURATION, "scheduler": STRING, "excludeCIDRs": STRINGS,
        "strictARP": BOOL, "tcpTimeout": DURATION, "tcpFinTimeout": DURATION, "udpTimeout": DURATION}),
    nftables=Struct("KubeProxyNFTablesConfiguration", {
        "masqueradeBit": INT32, "masqueradeAll": BOOL, "syncPeriod": DURATION, "minSyncPeriod": DURATION}),
    winkernel=Struct("KubeProxyWinkernelConfiguration", {
        "networkName": STRING, "sourceVip": STRING, "enableDSR": BOOL, "rootHnsEndpointName": STRING,
        "forwardHealthCheckVip": BOOL}),
    detectLocalMode=STRING,
    detectLocal=Struct("DetectLocalConfiguration", {"bridgeInterface": STRING, "interfaceNamePrefix": STRING}),
    clusterCIDR=STRING, nodePortAddresses=STRINGS, oomScoreAdj=INT32, conntrack=CONNTRACK,
    configSyncPeriod=DURATION, portRange=STRING, windowsRunAsService=BOOL,
))

COMPONENTS = {
    ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"): KUBELET_CONFIGURATION,
    ("kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"): KUBE_PROXY_CONFIGURATION,
}
