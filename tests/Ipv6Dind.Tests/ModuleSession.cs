using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace Ipv6Dind.Tests;

/// <summary>The repository and the assembled module (out/Ipv6Dind, built by the project reference).</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();
    public static string ModuleManifest => Path.Combine(Root, "out", "Ipv6Dind", "Ipv6Dind.psd1");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Ipv6Dind.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (Ipv6Dind.sln) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Result of one script run in the hosted engine: objects, errors, and the other streams.</summary>
public sealed record PsResult(Collection<PSObject> Output, IReadOnlyList<ErrorRecord> Errors, IReadOnlyList<string> Verbose,
    IReadOnlyList<string> Warnings, IReadOnlyList<ProgressRecord> Progress, RuntimeException? Terminating)
{
    public T Single<T>() => Assert.IsType<T>(Assert.Single(Output).BaseObject);
    public IEnumerable<T> All<T>() => Output.Select(o => Assert.IsType<T>(o.BaseObject));

    /// <summary>The error id of the terminating error, or of the first non-terminating one.</summary>
    public string? ErrorId => Terminating?.ErrorRecord.FullyQualifiedErrorId ?? Errors.FirstOrDefault()?.FullyQualifiedErrorId;

    public ErrorRecord Error => Terminating?.ErrorRecord ?? Errors.FirstOrDefault() ?? throw new Xunit.Sdk.XunitException("no error was written");

    public void AssertSuccess()
    {
        if (Terminating is not null) Assert.Fail($"terminating error {Terminating.ErrorRecord.FullyQualifiedErrorId}: {Terminating.Message}");
        if (Errors.Count > 0) Assert.Fail($"error {Errors[0].FullyQualifiedErrorId}: {Errors[0]}");
    }
}

/// <summary>
/// Runs scripts against the module in the hosted engine (no pwsh on these machines): InitialSessionState with
/// the module imported, a fresh PowerShell per script. Import happens once per session object.
/// </summary>
public sealed class ModuleSession : IDisposable
{
    private readonly Runspace _runspace;

    public ModuleSession()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.ImportPSModule(Repo.ModuleManifest);
        _runspace = RunspaceFactory.CreateRunspace(iss);
        _runspace.Open();
    }

    public PsResult Run(string script, IDictionary<string, object?>? variables = null)
    {
        using var ps = PowerShell.Create();
        ps.Runspace = _runspace;
        if (variables is not null)
            foreach (var (name, value) in variables)
                _runspace.SessionStateProxy.SetVariable(name, value);
        ps.AddScript(script);
        Collection<PSObject> output = new();
        RuntimeException? terminating = null;
        try { output = ps.Invoke(); }
        catch (RuntimeException ex) { terminating = ex; }
        return new PsResult(output, ps.Streams.Error.ToList(), ps.Streams.Verbose.Select(v => v.Message).ToList(),
            ps.Streams.Warning.Select(w => w.Message).ToList(), ps.Streams.Progress.ToList(), terminating);
    }

    public void Dispose() => _runspace.Dispose();
}

/// <summary>One module session shared by the tests of a class (import costs ~300 ms cold).</summary>
public sealed class ModuleFixture : IDisposable
{
    public ModuleSession Session { get; } = new();
    public void Dispose() => Session.Dispose();
}
