using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Ipv6Dind.Core.Addressing;

namespace Ipv6Dind.Core.Host;

/// <summary>
/// What the host's own network already uses, read from /proc and /etc without sending anything:
/// its addresses (as their on-link prefixes), its routes (default routes aside) and its resolvers.
/// A lab must not overlap any of them: a cluster range that shadows a host route breaks the host, and one
/// that shadows the uplink's prefix sends lab traffic out of the wrong door.
/// </summary>
public static class HostNetworkFacts
{
    /// <summary>Reads the facts of this host. <paramref name="root"/> lets tests point at a fixture tree.</summary>
    public static PlanEnvironment Read(string root = "/")
    {
        var reserved = new List<ReservedRange>();
        reserved.AddRange(Ipv6Addresses(root));
        reserved.AddRange(Ipv6Routes(root));
        if (root == "/") reserved.AddRange(Ipv4Addresses());
        reserved.AddRange(Ipv4Routes(root));
        var unique = reserved.GroupBy(r => r.Prefix).Select(g => g.First()).ToList();
        return new PlanEnvironment { Reserved = unique, HostResolvers = Resolvers(root) };
    }

    /// <summary>/proc/net/if_inet6: "addr32hex ifindex prefixlen scope flags ifname".</summary>
    public static IEnumerable<ReservedRange> Ipv6Addresses(string root)
    {
        foreach (var line in ReadLines(root, "proc/net/if_inet6"))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 6 || f[0].Length != 32) continue;
            var address = new IPAddress(Convert.FromHexString(f[0]));
            var length = int.Parse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (Ignored(address)) continue;
            yield return new ReservedRange(Ipv6Prefix.Containing(address, length).ToString(), ReservationKind.Host, $"address {address}/{length} on {f[5]}");
        }
    }

    /// <summary>/proc/net/ipv6_route: "dest32hex destlen src32hex srclen nexthop32hex metric refcnt use flags ifname".</summary>
    public static IEnumerable<ReservedRange> Ipv6Routes(string root)
    {
        foreach (var line in ReadLines(root, "proc/net/ipv6_route"))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 10 || f[0].Length != 32) continue;
            var length = int.Parse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var destination = new IPAddress(Convert.FromHexString(f[0]));
            if (length == 0 || Ignored(destination)) continue;
            yield return new ReservedRange(Ipv6Prefix.Containing(destination, length).ToString(), ReservationKind.Host, $"route {destination}/{length} dev {f[9]}");
        }
    }

    /// <summary>/proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask …", little-endian hex.</summary>
    public static IEnumerable<ReservedRange> Ipv4Routes(string root)
    {
        foreach (var line in ReadLines(root, "proc/net/route").Skip(1))
        {
            var f = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 8) continue;
            if (!uint.TryParse(f[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var dest) ||
                !uint.TryParse(f[7], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var mask) || mask == 0) continue;
            var length = BitOperations(mask);
            var destination = new IPAddress(BitConverter.GetBytes(dest));
            yield return new ReservedRange(Ipv4Prefix.Containing(destination, length).ToString(), ReservationKind.Host, $"route {destination}/{length} dev {f[0]}");
        }
    }

    /// <summary>
    /// The host's IPv4 addresses with their prefixes (no /proc file lists them with lengths). .NET's interface
    /// listing can throw while interfaces come and go (the veth pairs of containers starting beside it:
    /// ArgumentException "An invalid IP address was specified", seen in the fault sweep), so a listing that fails
    /// is read again, a few times, before the error is let through.
    /// </summary>
    public static IReadOnlyList<ReservedRange> Ipv4Addresses()
    {
        for (var attempt = 1; ; attempt++)
        {
            try { return ReadIpv4Addresses().ToList(); }
            catch (Exception e) when (attempt < 5 && e is ArgumentException or NetworkInformationException or IOException)
            {
                Thread.Sleep(20 * attempt);
            }
        }
    }

    private static IEnumerable<ReservedRange> ReadIpv4Addresses()
    {
        NetworkInterface[] interfaces;
        try { interfaces = NetworkInterface.GetAllNetworkInterfaces(); }
        catch (NetworkInformationException) { yield break; }
        foreach (var nic in interfaces)
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var a = unicast.Address;
                if (a.AddressFamily != AddressFamily.InterNetwork || IPAddress.IsLoopback(a) || unicast.PrefixLength is <= 0 or > 32) continue;
                yield return new ReservedRange(Ipv4Prefix.Containing(a, unicast.PrefixLength).ToString(), ReservationKind.Host, $"address {a}/{unicast.PrefixLength} on {nic.Name}");
            }
    }

    /// <summary>
    /// Usable resolvers from /etc/resolv.conf; a loopback stub (systemd-resolved's 127.0.0.53) is unreachable from
    /// a container, so its upstream list in /run/systemd/resolve/resolv.conf is used instead.
    /// </summary>
    public static IReadOnlyList<string> Resolvers(string root)
    {
        var found = Nameservers(root, "etc/resolv.conf");
        if (found.Count == 0) found = Nameservers(root, "run/systemd/resolve/resolv.conf");
        return found;
    }

    private static List<string> Nameservers(string root, string path) =>
        ReadLines(root, path)
            .Select(l => l.Trim())
            .Where(l => l.StartsWith("nameserver", StringComparison.Ordinal))
            .Select(l => l["nameserver".Length..].Trim())
            .Select(t => IPAddress.TryParse(t, out var a) ? a : null)
            .Where(a => a is not null && !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal)
            .Select(a => a!.ToString())
            .Distinct()
            .ToList();

    private static bool Ignored(IPAddress address) =>
        IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6Multicast || address.Equals(IPAddress.IPv6Any);

    private static int BitOperations(uint mask) => System.Numerics.BitOperations.PopCount(mask);

    private static IEnumerable<string> ReadLines(string root, string relative)
    {
        var path = Path.Combine(root, relative);
        try { return File.Exists(path) ? File.ReadAllLines(path) : Array.Empty<string>(); }
        catch (IOException) { return Array.Empty<string>(); }
        catch (UnauthorizedAccessException) { return Array.Empty<string>(); }
    }
}
