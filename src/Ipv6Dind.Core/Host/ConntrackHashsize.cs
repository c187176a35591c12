using System.Globalization;
using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.Core.Host;

/// <summary>
/// kube-proxy's conntrack rule, exactly as its source does it:
/// <list type="bullet">
/// <item>cmd/kube-proxy/app/server.go <c>getConntrackMax</c>: when <c>maxPerCore</c> &gt; 0, max = maxPerCore × NumCPU if that is
/// greater than <c>min</c>, else min; when maxPerCore is 0 (or unset) it returns 0 and kube-proxy leaves conntrack alone.</item>
/// <item>cmd/kube-proxy/app/conntrack.go <c>realConntracker.SetMax</c>: sets nf_conntrack_max to max, then reads
/// /sys/module/nf_conntrack/parameters/hashsize and returns when <c>hashsize &gt;= max/4</c> (Go integer division);
/// otherwise writes max/4 there. Linux refuses that write from outside the initial network namespace
/// (nf_conntrack_set_hashsize: EOPNOTSUPP) - the seeds' crash of kube-proxy inside a node container.</item>
/// <item>Defaults (pkg/proxy/apis/config/v1alpha1/defaults.go): maxPerCore 32768, min 131072.</item>
/// </list>
/// The seed's example: 32 CPUs × 32768 = 1048576, and 1048576 / 4 = 262144 &gt; 65536, so a host with hashsize
/// 65536 makes kube-proxy write.
/// </summary>
public static class ConntrackHashsize
{
    public const int DefaultMaxPerCore = 32768;
    public const int DefaultMin = 131072;
    public const string HashsizePath = "/sys/module/nf_conntrack/parameters/hashsize";
    public const string MaxPath = "/proc/sys/net/netfilter/nf_conntrack_max";

    /// <summary>kube-proxy's getConntrackMax.</summary>
    public static long RequiredMax(int cpuCount, int maxPerCore, int min)
    {
        Validate(cpuCount, maxPerCore, min);
        if (maxPerCore <= 0) return 0;
        var scaled = (long)maxPerCore * cpuCount;
        return scaled > min ? scaled : min;
    }

    /// <summary>The hashsize kube-proxy aims for: max / 4 (0 when it leaves conntrack alone).</summary>
    public static long RequiredHashsize(long requiredMax) => requiredMax / 4;

    /// <summary>SetMax's test: kube-proxy writes the hashsize only when the current one is below max / 4.</summary>
    public static bool WouldWrite(long currentHashsize, long requiredMax) => requiredMax > 0 && currentHashsize < requiredMax / 4;

    public static void Validate(int cpuCount, int maxPerCore, int min)
    {
        if (cpuCount < 1)
            throw Invalid("CpuCount", cpuCount, "must be 1 or more");
        if (maxPerCore < 0)
            throw Invalid("MaxPerCore", maxPerCore, "must be 0 (kube-proxy leaves conntrack alone) or more");
        if (min < 0)
            throw Invalid("Min", min, "must be 0 or more");
    }

    private static DindException Invalid(string parameter, int value, string why) =>
        new(ErrorIds.InvalidConntrackParameter, DindErrorCategory.InvalidArgument,
            $"{parameter}: {value} {why} (kube-proxy's defaults: MaxPerCore {DefaultMaxPerCore}, Min {DefaultMin}).",
            value, parameter, $"Give -{parameter} {why}.");

    /// <summary>The status for a host of <paramref name="cpuCount"/> CPUs, with the current values read from <paramref name="root"/>.</summary>
    public static ConntrackStatus Status(int cpuCount, int maxPerCore, int min, string root = "/")
    {
        var max = RequiredMax(cpuCount, maxPerCore, min);
        var current = ReadLong(Path.Combine(root, HashsizePath.TrimStart('/')));
        var currentMax = ReadLong(Path.Combine(root, MaxPath.TrimStart('/')));
        var needs = current is { } c && WouldWrite(c, max);
        string detail;
        if (current is null)
            detail = "nf_conntrack is not loaded (no hashsize parameter): kube-proxy would load it and size it then";
        else if (max == 0)
            detail = "MaxPerCore 0: kube-proxy leaves nf_conntrack_max and the hashsize as they are";
        else if (needs)
            detail = $"{maxPerCore} × {cpuCount} CPUs (min {min}) gives max {max}; hashsize {current} < {max} / 4 = {max / 4}: kube-proxy would write it, which fails inside a container";
        else
            detail = $"{maxPerCore} × {cpuCount} CPUs (min {min}) gives max {max}; hashsize {current} ≥ {max / 4}: kube-proxy leaves it";
        return new ConntrackStatus
        {
            CpuCount = cpuCount,
            MaxPerCore = maxPerCore,
            Min = min,
            RequiredMax = max,
            RequiredHashsize = RequiredHashsize(max),
            CurrentHashsize = current,
            CurrentMax = currentMax,
            NeedsRepair = needs,
            Detail = detail,
        };
    }

    internal static long? ReadLong(string path)
    {
        try
        {
            return File.Exists(path) && long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return null; }
    }
}

/// <summary>Why a write of a sysfs/procfs parameter failed, by errno (never by the wording of a message).</summary>
public enum ParameterWriteError { None, NotSupported, ReadOnly, PermissionDenied, Missing, Other }

/// <summary>
/// Writes the conntrack hashsize: on the host through the file itself, or inside a container through an exec
/// (what kube-proxy in a node would do). Failures are told apart by errno: EOPNOTSUPP is the in-container case
/// (the kernel accepts the write only from the initial network namespace), EROFS a read-only /sys (Docker's
/// default for containers), EACCES/EPERM a missing privilege.
/// </summary>
public sealed class ConntrackHashsizeWriter
{
    // errno values on Linux (asm-generic/errno-base.h, errno.h); .NET reports an unmapped errno as IOException.HResult.
    internal const int EROFS = 30;
    internal const int EOPNOTSUPP = 95;

    private readonly string _path;

    public ConntrackHashsizeWriter(string path = ConntrackHashsize.HashsizePath) => _path = path;

    /// <summary>Writes <paramref name="value"/> on this host; throws a DindException naming the cause.</summary>
    public void WriteOnHost(long value)
    {
        if (!File.Exists(_path))
            throw Failure(ParameterWriteError.Missing, value, "the file does not exist", "this host");
        try
        {
            // One write(2) of the decimal text, no buffering: sysfs parameters take the value in a single write.
            using var handle = File.OpenHandle(_path, FileMode.Open, FileAccess.Write);
            RandomAccess.Write(handle, System.Text.Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture)), 0);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw Failure(ParameterWriteError.PermissionDenied, value, ex.Message, "this host", ex);
        }
        catch (IOException ex)
        {
            throw Failure(Classify(ex.HResult), value, ex.Message, "this host", ex);
        }
    }

    /// <summary>errno (as .NET carries it in IOException.HResult) to a cause.</summary>
    public static ParameterWriteError Classify(int errno) => errno switch
    {
        EOPNOTSUPP => ParameterWriteError.NotSupported,
        EROFS => ParameterWriteError.ReadOnly,
        1 or 13 => ParameterWriteError.PermissionDenied, // EPERM, EACCES
        2 => ParameterWriteError.Missing,                 // ENOENT
        _ => ParameterWriteError.Other,
    };

    /// <summary>
    /// Writes <paramref name="value"/> from inside a container (tee, argv, C locale), as a kube-proxy there would.
    /// An exec cannot return errno, so the cause is read from strerror's C-locale text of tee's message.
    /// </summary>
    public async Task WriteInContainerAsync(IDockerApi docker, string containerId, long value, CancellationToken ct)
    {
        var result = await docker.ExecAsync(containerId, new[] { "tee", _path }, value.ToString(CultureInfo.InvariantCulture) + "\n",
            new Dictionary<string, string> { ["LC_ALL"] = "C" }, ct).ConfigureAwait(false);
        if (result.Succeeded) return;
        var message = result.StandardError.Trim();
        throw Failure(ClassifyMessage(message), value, message, $"container {containerId[..Math.Min(12, containerId.Length)]}");
    }

    /// <summary>strerror(3) texts in the C locale.</summary>
    public static ParameterWriteError ClassifyMessage(string message) =>
        message.Contains("Operation not supported", StringComparison.Ordinal) ? ParameterWriteError.NotSupported
        : message.Contains("Read-only file system", StringComparison.Ordinal) ? ParameterWriteError.ReadOnly
        : message.Contains("Permission denied", StringComparison.Ordinal) || message.Contains("Operation not permitted", StringComparison.Ordinal) ? ParameterWriteError.PermissionDenied
        : message.Contains("No such file or directory", StringComparison.Ordinal) ? ParameterWriteError.Missing
        : ParameterWriteError.Other;

    private DindException Failure(ParameterWriteError cause, long value, string message, string where, Exception? inner = null) => cause switch
    {
        ParameterWriteError.NotSupported => new DindException(ErrorIds.ConntrackHashsizeNotSupported, DindErrorCategory.InvalidOperation,
            $"Writing {value} to {_path} in {where} failed: operation not supported ({message}). Linux accepts the conntrack hashsize only from the " +
            "initial network namespace, so it cannot be set from inside a container - this is kube-proxy's failure in a node container.",
            _path, null, "Set the hashsize on the host (Repair-ConntrackHashsize, as root, outside any container), or give kube-proxy conntrack.maxPerCore: 0 (Ipv6Dind's kube-proxy configs do).", inner),
        ParameterWriteError.ReadOnly => new DindException(ErrorIds.ConntrackHashsizeReadOnly, DindErrorCategory.PermissionDenied,
            $"Writing {value} to {_path} in {where} failed: /sys is mounted read-only there ({message}).", _path, null,
            "Run Repair-ConntrackHashsize on the host itself; containers get a read-only /sys unless privileged.", inner),
        ParameterWriteError.PermissionDenied => new DindException(ErrorIds.HostPermissionDenied, DindErrorCategory.PermissionDenied,
            $"Writing {value} to {_path} in {where} needs root: {message}", _path, null, "Run Repair-ConntrackHashsize as root (sudo).", inner),
        ParameterWriteError.Missing => new DindException(ErrorIds.ConntrackUnavailable, DindErrorCategory.ObjectNotFound,
            $"{_path} does not exist in {where}: the nf_conntrack module is not loaded.", _path, null, "Load it (modprobe nf_conntrack) and run the command again.", inner),
        _ => new DindException(ErrorIds.HostCommandFailed, DindErrorCategory.WriteError,
            $"Writing {value} to {_path} in {where} failed: {message}", _path, null, "See the message; the kernel log (dmesg) may say more.", inner),
    };
}
