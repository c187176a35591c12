namespace Ipv6Dind.Core.Files;

/// <summary>
/// Writes text files the way a scheduled script needs them written: into place atomically (a temp file in the
/// same folder, then a rename), so a reader never sees half a file, and never over an existing file unless asked.
/// </summary>
public static class ConfigFileWriter
{
    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/>; returns the full path. On Unix,
    /// <paramref name="fileMode"/> is the file's mode from its creation (a secret is never readable by others, not
    /// even before a chmod), and <paramref name="newDirectoryMode"/> that of a folder that has to be created.
    /// </summary>
    public static string Write(string path, string content, bool overwrite, string existsErrorId, string failedErrorId, string parameterName,
        string overwriteHint = "Use -Force to overwrite it, or choose another path.",
        UnixFileMode? fileMode = null, UnixFileMode? newDirectoryMode = null)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new DindException(failedErrorId, DindErrorCategory.InvalidArgument,
                $"{parameterName}: '{full}' is a directory; give a file path.", path, parameterName, "Give the path of a file to write.");
        if (File.Exists(full) && !overwrite)
            throw new DindException(existsErrorId, DindErrorCategory.ResourceExists,
                $"{parameterName}: '{full}' already exists. {overwriteHint}", full, parameterName, overwriteHint);
        var dir = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            if (newDirectoryMode is { } dirMode && !OperatingSystem.IsWindows() && !Directory.Exists(dir))
                Directory.CreateDirectory(dir, dirMode);
            else
                Directory.CreateDirectory(dir);
            if (fileMode is { } mode && !OperatingSystem.IsWindows())
                WriteNew(temp, content, mode);
            else
                File.WriteAllText(temp, content);
            // rename(2) over the old file: a reader sees the old content or the new, never a mix.
            File.Move(temp, full, overwrite);
            return full;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new DindException(failedErrorId, DindErrorCategory.WriteError,
                $"{parameterName}: cannot write '{full}': {ex.Message}", full, parameterName,
                "Check that the folder exists or can be created and that you may write there.", ex);
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void WriteNew(string path, string content, UnixFileMode mode)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, UnixCreateMode = mode,
        });
        using (var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true))
            writer.Write(content);
        stream.Flush(flushToDisk: true);
    }

    private static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
