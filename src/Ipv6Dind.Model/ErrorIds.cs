namespace Ipv6Dind;

/// <summary>
/// Every stable error id the module emits, in one place. Ids are part of the public contract:
/// scripts match on them (<c>$_.FullyQualifiedErrorId -like 'InvalidNat64Prefix*'</c>) and tests assert them.
/// Naming: &lt;Noun&gt;&lt;Problem&gt;.
/// </summary>
public static class ErrorIds
{
    // Names
    public const string InvalidClusterName = nameof(InvalidClusterName);
    public const string InvalidNodeName = nameof(InvalidNodeName);

    // Counts
    public const string InvalidNodeCount = nameof(InvalidNodeCount);
    public const string NodeCountExceedsPodPrefix = nameof(NodeCountExceedsPodPrefix);
    public const string NodeCountExceedsBridgePorts = nameof(NodeCountExceedsBridgePorts);

    // Prefixes (parse / family / kind)
    public const string InvalidSubnet = nameof(InvalidSubnet);
    public const string InvalidManagementPrefix = nameof(InvalidManagementPrefix);
    public const string InvalidPodPrefix = nameof(InvalidPodPrefix);
    public const string InvalidPodNodePrefixLength = nameof(InvalidPodNodePrefixLength);
    public const string PodNodeMaskDifferenceTooLarge = nameof(PodNodeMaskDifferenceTooLarge);
    public const string InvalidServicePrefix = nameof(InvalidServicePrefix);
    public const string ServicePrefixTooLarge = nameof(ServicePrefixTooLarge);
    public const string InvalidNat64Prefix = nameof(InvalidNat64Prefix);
    public const string InvalidNat64PrefixLength = nameof(InvalidNat64PrefixLength);
    public const string Nat64PrefixUOctetNotZero = nameof(Nat64PrefixUOctetNotZero);
    public const string InvalidNat64Pool = nameof(InvalidNat64Pool);
    public const string Nat64PoolTooSmall = nameof(Nat64PoolTooSmall);
    public const string Nat64PoolOverlapsDestination = nameof(Nat64PoolOverlapsDestination);
    public const string PrefixHostBitsSet = nameof(PrefixHostBitsSet);
    public const string SubnetOverlap = nameof(SubnetOverlap);
    public const string SubnetOverlapsHost = nameof(SubnetOverlapsHost);
    public const string SubnetOverlapsDockerNetwork = nameof(SubnetOverlapsDockerNetwork);
    public const string SubnetOverlapsCluster = nameof(SubnetOverlapsCluster);

    // DNS64
    public const string InvalidDns64Upstream = nameof(InvalidDns64Upstream);
    public const string InvalidProbeName = nameof(InvalidProbeName);
    public const string InvalidProbeUrl = nameof(InvalidProbeUrl);
    public const string Dns64UpstreamMissing = nameof(Dns64UpstreamMissing);
    public const string Dns64UpstreamInsideCluster = nameof(Dns64UpstreamInsideCluster);

    // Kubernetes / CNI
    public const string InvalidCni = nameof(InvalidCni);
    public const string InvalidCalicoBlockSize = nameof(InvalidCalicoBlockSize);
    public const string InvalidMtu = nameof(InvalidMtu);
    public const string CalicoManifestRequired = nameof(CalicoManifestRequired);
    public const string InvalidCalicoManifest = nameof(InvalidCalicoManifest);
    public const string InvalidKubernetesVersion = nameof(InvalidKubernetesVersion);
    public const string UnsupportedKubernetesVersion = nameof(UnsupportedKubernetesVersion);
    public const string InvalidNodeImage = nameof(InvalidNodeImage);
    public const string InvalidImageReference = nameof(InvalidImageReference);
    public const string InvalidBootstrapToken = nameof(InvalidBootstrapToken);
    public const string InvalidCaCertHash = nameof(InvalidCaCertHash);
    public const string NodeNotFound = nameof(NodeNotFound);
    /// <summary>The node's container is stopped (Invoke-DindCommand): Start-DindCluster starts it.</summary>
    public const string NodeNotRunning = nameof(NodeNotRunning);
    public const string ControlPlaneNodeRemoval = nameof(ControlPlaneNodeRemoval);
    public const string RemoteDockerHost = nameof(RemoteDockerHost);
    public const string KubernetesNotReady = nameof(KubernetesNotReady);
    public const string KubernetesApiError = nameof(KubernetesApiError);
    public const string KubeconfigInvalid = nameof(KubeconfigInvalid);
    public const string KubeProxyConfigNotFound = nameof(KubeProxyConfigNotFound);
    public const string KubeProxyConfigInvalid = nameof(KubeProxyConfigInvalid);
    /// <summary>A kubeadm patch (kind's kubeadmConfigPatches / kubeadmConfigPatchesJSON6902) that does not parse or cannot apply.</summary>
    public const string InvalidKubeadmPatch = nameof(InvalidKubeadmPatch);
    /// <summary>A feature gate or runtime-config entry that cannot be written as a component flag.</summary>
    public const string InvalidComponentSetting = nameof(InvalidComponentSetting);
    /// <summary>A per-node setting (labels, mounts, port mappings) that is malformed or names no node.</summary>
    public const string InvalidNodeSettings = nameof(InvalidNodeSettings);

    // Addresses (conversion cmdlets)
    public const string InvalidIPv4Address = nameof(InvalidIPv4Address);
    public const string InvalidIPv6Address = nameof(InvalidIPv6Address);
    public const string AddressOutsideNat64Prefix = nameof(AddressOutsideNat64Prefix);
    public const string InvalidPrefix = nameof(InvalidPrefix);
    public const string InvalidSubnetLength = nameof(InvalidSubnetLength);

    // Renderer options
    public const string InvalidInterfaceName = nameof(InvalidInterfaceName);
    public const string InvalidPath = nameof(InvalidPath);
    public const string InvalidDockerAddressPool = nameof(InvalidDockerAddressPool);
    public const string InvalidDaemonJson = nameof(InvalidDaemonJson);
    public const string InvalidClusterDomain = nameof(InvalidClusterDomain);
    public const string InvalidNdppdOption = nameof(InvalidNdppdOption);

    // Spec files
    public const string SpecFileNotFound = nameof(SpecFileNotFound);
    public const string SpecFileInvalid = nameof(SpecFileInvalid);
    public const string SpecFieldUnknown = nameof(SpecFieldUnknown);
    public const string SpecValueUnsupported = nameof(SpecValueUnsupported);
    public const string SpecFileExists = nameof(SpecFileExists);
    public const string SpecFileOneClusterOnly = nameof(SpecFileOneClusterOnly);
    public const string SpecFileWriteFailed = nameof(SpecFileWriteFailed);
    public const string ConfigFileExists = nameof(ConfigFileExists);
    public const string ConfigFileWriteFailed = nameof(ConfigFileWriteFailed);

    // Docker
    public const string DockerUnreachable = nameof(DockerUnreachable);
    public const string DockerVersionUnsupported = nameof(DockerVersionUnsupported);
    public const string DockerIpv6Unavailable = nameof(DockerIpv6Unavailable);
    public const string DockerDesktopUnsupported = nameof(DockerDesktopUnsupported);
    public const string DockerObjectNotFound = nameof(DockerObjectNotFound);
    public const string DockerConflict = nameof(DockerConflict);
    public const string DockerApiError = nameof(DockerApiError);
    public const string DockerHostInvalid = nameof(DockerHostInvalid);
    public const string ExecFailed = nameof(ExecFailed);

    // Images
    public const string ImageNotFound = nameof(ImageNotFound);
    public const string ImageBuildFailed = nameof(ImageBuildFailed);
    public const string ImageToolMissing = nameof(ImageToolMissing);

    // Kubernetes phase (kubeadm in the nodes)
    public const string NodeImageNotKubernetes = nameof(NodeImageNotKubernetes);
    public const string KubernetesVersionMismatch = nameof(KubernetesVersionMismatch);
    public const string KubeadmFailed = nameof(KubeadmFailed);
    public const string ClusterNotKubernetes = nameof(ClusterNotKubernetes);
    public const string ClusterLocked = nameof(ClusterLocked);

    // Lab
    public const string ClusterExists = nameof(ClusterExists);
    public const string ClusterNotFound = nameof(ClusterNotFound);
    public const string ClusterBringUpFailed = nameof(ClusterBringUpFailed);
    public const string ServiceNotReady = nameof(ServiceNotReady);
    public const string HostCommandFailed = nameof(HostCommandFailed);
    public const string HostPermissionDenied = nameof(HostPermissionDenied);
    public const string InvalidLabel = nameof(InvalidLabel);
    /// <summary>A path another user could redirect (a link or a foreign file in a directory others can write).</summary>
    public const string HostPathUnsafe = nameof(HostPathUnsafe);
    /// <summary>The lock could not be taken for a reason other than another holder (I/O error, unsafe directory).</summary>
    public const string HostLockFailed = nameof(HostLockFailed);

    // Host tooling (conntrack, daemon.json, dockerd restarts, host routes)
    public const string InvalidConntrackParameter = nameof(InvalidConntrackParameter);
    public const string ConntrackUnavailable = nameof(ConntrackUnavailable);
    public const string ConntrackHashsizeNotSupported = nameof(ConntrackHashsizeNotSupported);
    public const string ConntrackHashsizeReadOnly = nameof(ConntrackHashsizeReadOnly);
    public const string DaemonJsonWriteFailed = nameof(DaemonJsonWriteFailed);
    public const string InvalidDockerIpv6Prefix = nameof(InvalidDockerIpv6Prefix);
    public const string DelegatedPrefixTooSmall = nameof(DelegatedPrefixTooSmall);
    public const string DockerMasqueradeNotUla = nameof(DockerMasqueradeNotUla);
    public const string DockerRestartFailed = nameof(DockerRestartFailed);
    public const string DockerDaemonFlagConflict = nameof(DockerDaemonFlagConflict);

    // Run time
    public const string OperationCanceled = nameof(OperationCanceled);
    public const string UnexpectedError = nameof(UnexpectedError);
}
