using System.Net;
using System.Net.Sockets;
using System.Text;

using Ipv6Dind.Core.Docker;

namespace Ipv6Dind.TestSupport;

/// <summary>
/// The exec model of <see cref="InMemoryDockerApi"/>: what the lab runs in its containers (src/Ipv6Dind.Core/Lab),
/// answered from the container's network namespace and files, with the output formats the lab parses.
/// <list type="bullet">
/// <item><c>ip -batch -</c>: <c>route replace|add DST [via GW] [dev DEV] [metric N]</c> (an IPv6 gateway must be on a
/// connected prefix), <c>route del DST …</c> (a missing route fails with "RTNETLINK answers: No such process"),
/// <c>address flush …</c> and <c>link set …</c> (accepted, nothing modelled); the batch stops at the first failing
/// line (exit 1, "Command failed -:N"), the lines before it stay applied, as ip does without -force.</item>
/// <item><c>ip [-6] route show</c> (IPv6 routes with -6, IPv4 ones without), <c>ip route show table all</c> (both
/// families, as iproute2 dumps every family for "table all"), <c>ip -6 route get ADDR</c> (longest match, or
/// "Network is unreachable"), <c>ip address show</c> (lo and eth0 with the container's IPv6 address): iproute2's
/// formats (<c>DST via GW dev DEV metric 1024 pref medium</c>).</item>
/// <item><c>iptables</c>/<c>ip6tables</c> (separate rule sets, per table: <c>-t</c> is part of a rule's identity):
/// -A, -I, -C (exit 1 "Bad rule" when absent), -D (by rule or number; exit 1 when absent), -S, -N, -F;
/// <c>iptables-save</c>/<c>ip6tables-save</c>. Rules compare as their words, not semantically as iptables does.</item>
/// <item><c>tee [-a] PATH…</c>: writes stdin to the files and echoes it (read-only paths and /sys fail as in a
/// container that is neither privileged nor unmasked).</item>
/// <item><c>dig</c>: version.bind CH TXT answers "9.18.28-1~deb12u2-Debian"; other questions answer NOERROR without
/// records. An @server must be the container itself or a running container of its network (else exit 9).</item>
/// <item><c>sysctl</c>, <c>true</c>, <c>systemctl is-system-running</c> ("running"): exit 0.</item>
/// </list>
/// Any other program exits 127 ("command not found"); a modelled program with arguments the model does not know
/// exits 1 and says so. <see cref="InMemoryDockerApi.ExecHandler"/> answers before the model.
/// </summary>
public sealed partial class InMemoryDockerApi
{
    public const string DigVersion = "9.18.28-1~deb12u2-Debian";

    public Task<ExecResult> ExecAsync(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return Task.FromCanceled<ExecResult>(ct);
        try { return Task.FromResult(Exec(id, argv, stdin, environment)); }
        catch (Exception e) { return Task.FromException<ExecResult>(e); }
    }

    public async Task<ExecResult> ExecWithInputAsync(string id, IReadOnlyList<string> argv, Stream stdin, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        lock (_gate) RunnableContainer(id, argv);                   // the exec is refused before anything is sent
        using var reader = new StreamReader(stdin, new UTF8Encoding(false), false, 1 << 16, leaveOpen: true);
        var text = await reader.ReadToEndAsync(ct).ConfigureAwait(false);
        return Exec(id, argv, text, null);
    }

    private ExecResult Exec(string id, IReadOnlyList<string> argv, string? stdin, IReadOnlyDictionary<string, string>? environment)
    {
        Container c;
        lock (_gate)
        {
            c = RunnableContainer(id, argv);
            _execs.Add(new ExecRecord(c.Name, c.Id, argv.ToList()));
        }
        if (ExecHandler?.Invoke(new ExecContext(c.Name, c.Id, argv.ToList(), stdin) { Environment = environment }) is { } handled)
            return handled;
        lock (_gate) return BuiltIn(c, argv, stdin ?? "");
    }

    private Container RunnableContainer(string id, IReadOnlyList<string> argv)
    {
        if (argv.Count == 0)
            throw new DindException(ErrorIds.ExecFailed, DindErrorCategory.InvalidArgument, "An exec needs a command (argv is empty).", id);
        var operation = $"exec {argv[0]} in {id}";
        var c = RequireContainer(id, operation);
        if (!c.Running) throw Conflict(operation, $"Container {c.Id} is not running", id);
        return c;
    }

    private static ExecResult Ok(string stdout = "") => new(0, stdout, "");
    private static ExecResult Failed(int exit, string stderr, string stdout = "") => new(exit, stdout, stderr.EndsWith('\n') ? stderr : stderr + "\n");

    private static ExecResult NoModel(IReadOnlyList<string> argv) =>
        Failed(1, $"InMemoryDockerApi has no model of `{string.Join(' ', argv)}`; set ExecHandler.");

    private ExecResult BuiltIn(Container c, IReadOnlyList<string> argv, string stdin)
    {
        var tool = Path.GetFileName(argv[0]);
        var args = argv.Skip(1).ToList();
        // A running container always has a namespace; one that joined a stopped owner sees an empty one.
        var ns = NetNsOf(c) ?? new NetNs();
        return tool switch
        {
            "ip" => Ip(c, ns, argv, args, stdin),
            "iptables" or "ip6tables" => Iptables(ns, tool, argv, args),
            "iptables-save" or "ip6tables-save" => IptablesSave(ns, tool[..^"-save".Length], args),
            "tee" => Tee(c, args, stdin),
            "dig" => Dig(c, args),
            "sysctl" => Ok(string.Concat(args.Where(a => !a.StartsWith('-')).Select(a =>
                a.Contains('=') ? $"{a[..a.IndexOf('=')]} = {a[(a.IndexOf('=') + 1)..]}\n" : $"{a} = {c.Spec.Sysctls.GetValueOrDefault(a, "0")}\n"))),
            "true" => Ok(),
            "systemctl" when args.FirstOrDefault() == "is-system-running" => Ok("running\n"),
            "systemctl" => NoModel(argv),
            _ => Failed(127, $"{tool}: command not found (InMemoryDockerApi has no model of it; set ExecHandler)"),
        };
    }

    // ================================================================================================ ip

    /// <summary>A route of a namespace's main table.</summary>
    private sealed record Route(IPNetwork Destination, IPAddress? Via, string Dev, int Metric, bool Kernel)
    {
        public bool Ipv6 => Destination.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
        private int FullLength => Ipv6 ? 128 : 32;

        public string DestinationText =>
            Destination.PrefixLength == 0 ? "default"
            : Destination.PrefixLength == FullLength ? Destination.BaseAddress.ToString()
            : Destination.ToString();

        /// <summary>iproute2's line.</summary>
        public override string ToString()
        {
            var via = Via is null ? "" : $"via {Via} ";
            var proto = Kernel ? "proto kernel " : "";
            return Ipv6
                ? $"{DestinationText} {via}dev {Dev} {proto}metric {Metric} pref medium"
                : $"{DestinationText} {via}dev {Dev} {proto}{(Via is null ? "scope link " : "")}{(Metric != 0 ? $"metric {Metric}" : "")}".TrimEnd();
        }

        /// <summary>The kernel's listing order, roughly: IPv4 first, default last, then by address and length.</summary>
        public (bool, bool, string, int, int) SortKey =>
            (Ipv6, Destination.PrefixLength == 0, Convert.ToHexString(Destination.BaseAddress.GetAddressBytes()), Destination.PrefixLength, Metric);
    }

    private ExecResult Ip(Container c, NetNs ns, IReadOnlyList<string> argv, List<string> args, string stdin)
    {
        var family = 0;
        var batch = false;
        var i = 0;
        for (; i < args.Count && args[i].StartsWith('-'); i++)
        {
            switch (args[i])
            {
                case "-6": family = 6; break;
                case "-4": family = 4; break;
                case "-batch" or "-b" when i + 1 < args.Count && args[i + 1] == "-": batch = true; i++; break;
                default: return NoModel(argv);
            }
        }
        if (!batch) return IpCommand(c, ns, family, args.Skip(i).ToList(), argv);
        var stdout = new StringBuilder();
        var lineNo = 0;
        foreach (var line in stdin.Split('\n'))
        {
            lineNo++;
            var words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList();
            if (words.Count == 0 || words[0].StartsWith('#')) continue;
            var one = IpCommand(c, ns, family, words, null);
            stdout.Append(one.StandardOutput);
            if (!one.Succeeded) return Failed(1, $"{one.StandardError}Command failed -:{lineNo}", stdout.ToString());
        }
        return Ok(stdout.ToString());
    }

    private static bool Is(string word, string full, int shortest) => word.Length >= shortest && full.StartsWith(word, StringComparison.Ordinal);

    /// <param name="argv">The exec's argv (null inside a batch, where an unknown line is named by itself).</param>
    private ExecResult IpCommand(Container c, NetNs ns, int family, List<string> words, IReadOnlyList<string>? argv)
    {
        ExecResult Unknown() => argv is null
            ? Failed(1, $"InMemoryDockerApi has no model of ip batch line \"{string.Join(' ', words)}\"")
            : NoModel(argv);
        if (words.Count == 0) return Unknown();
        var verb = words.Count > 1 ? words[1] : "show";
        if (Is(words[0], "route", 1))
        {
            if (Is(verb, "show", 1) || Is(verb, "list", 1))
            {
                var rest = words.Skip(2).ToList();
                var all = rest.SequenceEqual(new[] { "table", "all" });
                if (rest.Count > 0 && !all && !rest.SequenceEqual(new[] { "table", "main" })) return Unknown();
                // Without -4/-6, iproute2 lists IPv4 only, except for "table all", which dumps every family.
                var wanted = ns.Routes.Where(r => family == 6 ? r.Ipv6 : family == 4 ? !r.Ipv6 : all || !r.Ipv6);
                return Ok(string.Concat(wanted.OrderBy(r => r.SortKey).Select(r => r + "\n")));
            }
            if (verb == "get" && words.Count == 3) return RouteGet(c, ns, words[2]);
            if (verb is "replace" or "add" && words.Count >= 3) return RouteAdd(ns, family, words, replace: verb == "replace");
            if (Is(verb, "delete", 3) && words.Count >= 3) return RouteDelete(ns, family, words);
            return Unknown();
        }
        if (Is(words[0], "address", 1))
        {
            if (Is(verb, "flush", 1)) return Ok();
            if ((Is(verb, "show", 1) || Is(verb, "list", 1)) && words.Count <= 4) return Ok(Addresses(c));
            return Unknown();
        }
        if (Is(words[0], "link", 1) && verb == "set") return Ok();
        return Unknown();
    }

    private static ExecResult Rtnetlink(string what) => Failed(2, $"RTNETLINK answers: {what}");

    /// <summary>DST [via GW] [dev DEV] [metric N] [proto P] [onlink], as route add/replace/del take them.</summary>
    private static ExecResult? ParseRoute(NetNs ns, int family, List<string> words, bool requireNexthop, out Route route)
    {
        route = null!;
        IPAddress? via = null;
        string? dev = null;
        int? metric = null;
        for (var i = 3; i < words.Count; i++)
        {
            var value = i + 1 < words.Count ? words[i + 1] : null;
            switch (words[i])
            {
                case "via" when value is not null:
                    if (!IPAddress.TryParse(value, out via)) return Failed(1, $"Error: inet address is expected rather than \"{value}\".");
                    i++;
                    break;
                case "dev" when value is not null: dev = value; i++; break;
                case "metric" or "preference" or "priority" when int.TryParse(value, out var m): metric = m; i++; break;
                case "proto" when value is not null: i++; break;
                case "onlink": break;
                default: return Failed(1, $"Error: either \"to\" is duplicate, or \"{words[i]}\" is a garbage.");
            }
        }
        var text = words[2];
        IPNetwork destination;
        if (text == "default")
        {
            var v6 = via?.AddressFamily == AddressFamily.InterNetworkV6 || (via is null && family == 6);
            destination = IPNetwork.Parse(v6 ? "::/0" : "0.0.0.0/0");
        }
        else if (text.Contains('/'))
        {
            if (!IPNetwork.TryParse(text, out destination))
                return Failed(1, IPAddress.TryParse(text.Split('/')[0], out _)
                    ? "Error: Invalid prefix for given prefix length."
                    : $"Error: inet prefix is expected rather than \"{text}\".");
        }
        else if (IPAddress.TryParse(text, out var host))
            destination = new IPNetwork(host, host.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);
        else return Failed(1, $"Error: inet prefix is expected rather than \"{text}\".");

        var ipv6 = destination.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6;
        if ((family == 6 && !ipv6) || (family == 4 && ipv6) || (via is not null && via.AddressFamily != destination.BaseAddress.AddressFamily))
            return Failed(1, "Error: address families do not match.");
        if (requireNexthop && via is null && dev is null) return Failed(2, "Error: Device for nexthop is not up.");
        if (requireNexthop && via is not null && ipv6 && !via.IsIPv6LinkLocal &&
            !ns.Routes.Any(r => r.Via is null && r.Destination.PrefixLength > 0 && r.Destination.Contains(via)))
            return Failed(2, "Error: Nexthop has invalid gateway.");
        route = new Route(destination, via, dev ?? "eth0", metric ?? (ipv6 ? 1024 : 0), Kernel: false);
        return null;
    }

    private static ExecResult RouteAdd(NetNs ns, int family, List<string> words, bool replace)
    {
        if (ParseRoute(ns, family, words, requireNexthop: true, out var route) is { } error) return error;
        var existing = ns.Routes.FindIndex(r => r.Destination.Equals(route.Destination) && r.Metric == route.Metric);
        if (existing >= 0 && !replace) return Rtnetlink("File exists");
        if (existing >= 0) ns.Routes[existing] = route;
        else ns.Routes.Add(route);
        return Ok();
    }

    private static ExecResult RouteDelete(NetNs ns, int family, List<string> words)
    {
        if (ParseRoute(ns, family, words, requireNexthop: false, out var wanted) is { } error) return error;
        var given = words.Skip(3).ToList();
        var index = ns.Routes.FindIndex(r => r.Destination.Equals(wanted.Destination)
            && (!given.Contains("via") || Equals(r.Via, wanted.Via))
            && (!given.Contains("dev") || r.Dev == wanted.Dev)
            && (!given.Contains("metric") || r.Metric == wanted.Metric));
        if (index < 0) return Rtnetlink("No such process");
        ns.Routes.RemoveAt(index);
        return Ok();
    }

    private ExecResult RouteGet(Container c, NetNs ns, string text)
    {
        if (!IPAddress.TryParse(text, out var target)) return Failed(1, $"Error: inet prefix is expected rather than \"{text}\".");
        var best = ns.Routes.Where(r => r.Destination.BaseAddress.AddressFamily == target.AddressFamily && r.Destination.Contains(target))
            .OrderByDescending(r => r.Destination.PrefixLength).ThenBy(r => r.Metric).FirstOrDefault();
        if (best is null) return Rtnetlink("Network is unreachable");
        var source = AddressOf(c) is { } own ? $"src {own} " : "";
        var via = best.Via is null ? "" : $"via {best.Via} ";
        return Ok(best.Ipv6
            ? $"{target} from :: {via}dev {best.Dev} {(best.Kernel ? "proto kernel " : "")}{source}metric {best.Metric} pref medium\n"
            : $"{target} {via}dev {best.Dev} {source}uid 0\n    cache\n");
    }

    private string Addresses(Container c)
    {
        var text = new StringBuilder()
            .Append("1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000\n")
            .Append("    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n")
            .Append("    inet6 ::1/128 scope host \n       valid_lft forever preferred_lft forever\n");
        if (AddressOf(c) is { } address && NetworkOf(c) is { } network)
            text.Append("2: eth0@if7: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default \n")
                .Append("    link/ether 02:42:ac:11:00:02 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n")
                .Append($"    inet6 {address}/{network.Subnet.PrefixLength} scope global nodad \n       valid_lft forever preferred_lft forever\n");
        return text.ToString();
    }

    // ================================================================================================ iptables

    private static readonly Dictionary<string, string[]> BuiltinChains = new(StringComparer.Ordinal)
    {
        ["filter"] = new[] { "INPUT", "FORWARD", "OUTPUT" },
        ["nat"] = new[] { "PREROUTING", "INPUT", "OUTPUT", "POSTROUTING" },
        ["mangle"] = new[] { "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING" },
        ["raw"] = new[] { "PREROUTING", "OUTPUT" },
    };

    private static Dictionary<string, List<string>> Chains(NetNs ns, string tool, string table)
    {
        if (!ns.Rules.TryGetValue((tool, table), out var chains))
            ns.Rules[(tool, table)] = chains = BuiltinChains[table].ToDictionary(c => c, _ => new List<string>(), StringComparer.Ordinal);
        return chains;
    }

    private static ExecResult Iptables(NetNs ns, string tool, IReadOnlyList<string> argv, List<string> args)
    {
        var table = "filter";
        var words = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] is "-t" or "--table" && i + 1 < args.Count) table = args[++i];
            else if (args[i] is "-w" or "--wait") { if (i + 1 < args.Count && int.TryParse(args[i + 1], out _)) i++; }
            else words.Add(args[i]);
        }
        if (!BuiltinChains.ContainsKey(table))
            return Failed(3, $"{tool} v1.8.9 (nf_tables): table '{table}' does not exist\nPerhaps {tool} or your kernel needs to be upgraded.");
        if (words.Count == 0) return Failed(2, $"{tool} v1.8.9 (nf_tables): no command specified\nTry `{tool} -h' or '{tool} --help' for more information.");
        var chains = Chains(ns, tool, table);
        var chain = words.Count > 1 ? words[1] : null;
        var rule = string.Join(' ', words.Skip(2));
        var badRule = Failed(1, $"{tool}: Bad rule (does a matching rule exist in that chain?).");
        var noChain = Failed(1, $"{tool}: No chain/target/match by that name.");
        List<string>? rules = chain is not null && chains.TryGetValue(chain, out var found) ? found : null;
        switch (words[0])
        {
            case "-A" or "--append" when chain is not null:
                if (rules is null) return noChain;
                rules.Add(rule);
                return Ok();
            case "-I" or "--insert" when chain is not null:
                if (rules is null) return noChain;
                var numbered = words.Count > 2 && int.TryParse(words[2], out _);
                var at = numbered ? int.Parse(words[2], System.Globalization.CultureInfo.InvariantCulture) : 1;
                var spec = numbered ? string.Join(' ', words.Skip(3)) : rule;
                if (at < 1 || at > rules.Count + 1) return Failed(1, $"{tool}: Index of insertion too big.");
                rules.Insert(at - 1, spec);
                return Ok();
            case "-C" or "--check" when chain is not null:
                return rules is null ? noChain : rules.Contains(rule) ? Ok() : badRule;
            case "-D" or "--delete" when chain is not null:
                if (rules is null) return noChain;
                if (words.Count == 3 && int.TryParse(words[2], out var number))
                {
                    if (number < 1 || number > rules.Count) return Failed(1, $"{tool}: Index of deletion too big.");
                    rules.RemoveAt(number - 1);
                    return Ok();
                }
                return rules.Remove(rule) ? Ok() : badRule;
            case "-N" or "--new-chain" when chain is not null:
                if (rules is not null) return Failed(1, $"{tool}: Chain already exists.");
                chains[chain] = new List<string>();
                return Ok();
            case "-F" or "--flush":
                if (chain is not null && rules is null) return noChain;
                foreach (var (name, list) in chains)
                    if (chain is null || name == chain) list.Clear();
                return Ok();
            case "-S" or "--list-rules":
                if (chain is not null && rules is null) return noChain;
                return Ok(ListRules(chains, table, chain));
            default:
                return NoModel(argv);
        }
    }

    private static string ListRules(Dictionary<string, List<string>> chains, string table, string? only)
    {
        var text = new StringBuilder();
        foreach (var (name, _) in chains.Where(c => only is null || c.Key == only))
            text.Append(BuiltinChains[table].Contains(name) ? $"-P {name} ACCEPT\n" : $"-N {name}\n");
        foreach (var (name, rules) in chains.Where(c => only is null || c.Key == only))
            foreach (var rule in rules)
                text.Append($"-A {name} {rule}".TrimEnd()).Append('\n');
        return text.ToString();
    }

    private static ExecResult IptablesSave(NetNs ns, string tool, List<string> args)
    {
        string? only = null;
        for (var i = 0; i < args.Count; i++)
            if (args[i] is "-t" or "--table" && i + 1 < args.Count) only = args[++i];
        var text = new StringBuilder();
        foreach (var ((owner, table), chains) in ns.Rules.OrderBy(r => r.Key.Table, StringComparer.Ordinal))
        {
            if (owner != tool || (only is not null && table != only)) continue;
            text.Append($"# Generated by {tool}-save v1.8.9 (nf_tables)\n*{table}\n");
            foreach (var name in chains.Keys)
                text.Append(BuiltinChains[table].Contains(name) ? $":{name} ACCEPT [0:0]\n" : $":{name} - [0:0]\n");
            foreach (var (name, rules) in chains)
                foreach (var rule in rules)
                    text.Append($"-A {name} {rule}".TrimEnd()).Append('\n');
            text.Append("COMMIT\n# Completed\n");
        }
        return Ok(text.ToString());
    }

    // ================================================================================================ files, DNS

    private static ExecResult Tee(Container c, List<string> args, string stdin)
    {
        var append = args.Contains("-a") || args.Contains("--append");
        var errors = new StringBuilder();
        foreach (var path in args.Where(a => !a.StartsWith('-') || a == "-"))
        {
            var full = path.StartsWith('/') ? path : "/" + path;
            var readOnly = c.ReadonlyPaths.Any(p => full == p || full.StartsWith(p + "/", StringComparison.Ordinal))
                           || (!c.Spec.Privileged && full.StartsWith("/sys/", StringComparison.Ordinal));
            if (readOnly) errors.Append($"tee: {path}: Read-only file system\n");
            else c.Files[full] = append ? c.Files.GetValueOrDefault(full, "") + stdin : stdin;
        }
        return errors.Length == 0 ? Ok(stdin) : Failed(1, errors.ToString(), stdin);
    }

    private ExecResult Dig(Container c, List<string> args)
    {
        string? server = null;
        var terse = false;
        var words = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.StartsWith('@')) server = a[1..];
            else if (a == "+short") terse = true;
            else if (a.StartsWith('+')) { }
            else if (a is "-t" or "-c" or "-p" or "-q" or "-b" && i + 1 < args.Count) i++;
            else if (!a.StartsWith('-')) words.Add(a);
        }
        var name = words.FirstOrDefault() ?? ".";
        var reached = server is null or "::1" or "127.0.0.1" or "localhost"
            || (IPAddress.TryParse(server, out var address) && (address.Equals(AddressOf(c))
                || _containers.Any(o => o.Running && o.Address is not null && o.Address.Equals(address) && NetworkOf(o) is { } n && n == NetworkOf(c))));
        if (!reached)
            return new ExecResult(9, $";; communications error to {server}#53: timed out\n;; communications error to {server}#53: timed out\n;; no servers could be reached\n", "");
        var version = string.Equals(name.TrimEnd('.'), "version.bind", StringComparison.OrdinalIgnoreCase);
        if (terse) return Ok(version ? $"\"{DigVersion}\"\n" : "");
        var question = name.EndsWith('.') ? name : name + ".";
        var klass = words.FirstOrDefault(w => w is "CH" or "IN" or "HS") ?? "IN";
        var type = words.Skip(1).FirstOrDefault(w => w != klass) ?? "A";
        var output = new StringBuilder()
            .Append($"\n; <<>> DiG {DigVersion} <<>> {string.Join(' ', args)}\n;; global options: +cmd\n;; Got answer:\n")
            .Append($";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242\n;; flags: qr aa rd; QUERY: 1, ANSWER: {(version ? 1 : 0)}, AUTHORITY: 0, ADDITIONAL: 1\n\n")
            .Append($";; QUESTION SECTION:\n;{question}\t\t\t{klass}\t{type}\n\n");
        if (version) output.Append($";; ANSWER SECTION:\n{question}\t\t0\tCH\tTXT\t\"{DigVersion}\"\n\n");
        output.Append($";; SERVER: {server ?? "::1"}#53({server ?? "::1"}) (UDP)\n");
        return Ok(output.ToString());
    }
}
