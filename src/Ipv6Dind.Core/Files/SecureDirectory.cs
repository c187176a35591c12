using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Ipv6Dind.Core.Files;

/// <summary>
/// A directory held open by its descriptor, and every write into it made relative to that descriptor. This is how
/// a root process writes where other users may also write (a shared lock directory, /tmp, a user's home) without
/// being redirected:
/// <list type="bullet">
/// <item>files are written as a new temp file in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW, its final mode from
/// creation), fsynced, then renamed over the target: rename(2) replaces the directory entry and never writes through
/// a link, so a planted symbolic or hard link cannot make root write into another file;</item>
/// <item>once open, the directory is the same inode whatever happens to its path (a renamed or swapped parent
/// cannot move the write elsewhere);</item>
/// <item>in a directory others can write (group or world writable), an existing symbolic link, or a file owned by
/// another user (not root, not us), is refused with HostPathUnsafe: something else put it there. In a directory
/// only its owner (us or root) can write, a link at the target was put there by one of them and is followed (a
/// ~/.kube/config managed as a dotfile link stays a link) - its target is checked by the same rules.</item>
/// </list>
/// Linux only, as the module is.
/// </summary>
public sealed class SecureDirectory : IDisposable
{
    private const int MaxLinkDepth = 8;
    private readonly SafeFileHandle _handle;
    private readonly FileFacts _facts;

    private SecureDirectory(string path, SafeFileHandle handle)
    {
        Path = path;
        _handle = handle;
        _facts = Libc.StatHandle(handle);
    }

    /// <summary>The directory's full path (as opened).</summary>
    public string Path { get; }

    /// <summary>Owner, group and permission bits of the open directory.</summary>
    public uint OwnerId => _facts.Uid;
    public uint GroupId => _facts.Gid;
    public uint Permissions => _facts.Permissions;

    /// <summary>Group or others may create, rename and remove entries here.</summary>
    public bool WritableByOthers => _facts.WritableByOthers;

    internal SafeFileHandle Handle => _handle;

    /// <summary>
    /// Opens <paramref name="path"/>; when it is missing and <paramref name="createMode"/> is given, creates it (and
    /// missing parents) with that mode first. A final component that is a symbolic link planted by another user in a
    /// directory others can write is refused.
    /// </summary>
    public static SecureDirectory Open(string path, UnixFileMode? createMode = null)
    {
        var full = System.IO.Path.GetFullPath(path);
        RefusePlantedLink(full);
        var handle = Libc.OpenAt(null, full, Libc.ORdOnly | Libc.ODirectory, 0, out var errno);
        if (handle.IsInvalid && errno == Libc.ENoEnt && createMode is { } mode)
        {
            handle.Dispose();
            Directory.CreateDirectory(full, mode);
            RefusePlantedLink(full);
            handle = Libc.OpenAt(null, full, Libc.ORdOnly | Libc.ODirectory, 0, out errno);
        }
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw Io(full, errno, errno == Libc.ENotDir ? "it is not a directory" : null);
        }
        return new SecureDirectory(full, handle);
    }

    /// <summary>A subdirectory, created with <paramref name="createMode"/> when missing; never a link.</summary>
    public SecureDirectory Subdirectory(string name, UnixFileMode createMode)
    {
        CheckName(name);
        var errno = Libc.MkdirAt(_handle, name, (uint)createMode);
        if (errno is not 0 and not Libc.EExist) throw Io(Child(name), errno);
        var handle = Libc.OpenAt(_handle, name, Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow, 0, out errno);
        if (handle.IsInvalid)
        {
            handle.Dispose();
            if (errno is Libc.ELoop or Libc.ENotDir) throw Unsafe(Child(name), "it is a symbolic link or not a directory", "Remove it, or choose another folder.");
            throw Io(Child(name), errno);
        }
        var sub = new SecureDirectory(Child(name), handle);
        if (WritableByOthers && !IsTrusted(sub._facts.Uid))
        {
            sub.Dispose();
            throw Unsafe(sub.Path, $"it belongs to user {sub._facts.Uid}, in a folder others can write", "Remove it, or choose another folder.");
        }
        return sub;
    }

    /// <summary>Whether <paramref name="name"/> exists here (any type, links not followed).</summary>
    public bool Exists(string name) => Libc.Stat(_handle, name, out _) is not null;

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="name"/> atomically (temp file, fsync, rename, fsync of
    /// the directory). A new file gets <paramref name="mode"/>; when <paramref name="keepOwner"/> and a regular file
    /// is replaced, it keeps its owner and group (root writing a user's kubeconfig leaves it the user's).
    /// Returns the full path written (the link's target when a trusted link was followed).
    /// </summary>
    public string WriteFile(string name, ReadOnlySpan<byte> content, UnixFileMode mode, bool overwrite = true, bool keepOwner = true) =>
        WriteFile(name, content.ToArray(), mode, overwrite, keepOwner, 0);

    public string WriteFile(string name, string content, UnixFileMode mode, bool overwrite = true, bool keepOwner = true) =>
        WriteFile(name, new UTF8Encoding(false).GetBytes(content), mode, overwrite, keepOwner, 0);

    private string WriteFile(string name, byte[] content, UnixFileMode mode, bool overwrite, bool keepOwner, int depth)
    {
        CheckName(name);
        var existing = Libc.Stat(_handle, name, out var errno);
        if (existing is null && errno != Libc.ENoEnt) throw Io(Child(name), errno);
        if (existing is { } old)
        {
            if (old.IsSymlink)
            {
                if (WritableByOthers || !IsTrusted(_facts.Uid))
                    throw Unsafe(Child(name), "it is a symbolic link in a folder others can write",
                        "Remove the link (someone other than you may have planted it), or write to another path.");
                if (depth >= MaxLinkDepth) throw Io(Child(name), Libc.ELoop);
                // Read through this folder's descriptor (the folder's path may have changed since it was opened);
                // a relative target is relative to this folder.
                var stored = Libc.ReadLinkAt(_handle, name, out var linkErrno) ?? throw Io(Child(name), linkErrno);
                var target = System.IO.Path.GetFullPath(stored, Path);
                using var targetDir = Open(System.IO.Path.GetDirectoryName(target)!);
                return targetDir.WriteFile(System.IO.Path.GetFileName(target), content, mode, overwrite, keepOwner, depth + 1);
            }
            if (old.IsDirectory)
                throw new IOException($"'{Child(name)}' is a directory; give a file path.");
            if (!old.IsRegular)
                throw Unsafe(Child(name), "it is not a regular file (a device, pipe or socket)", "Remove it, or write to another path.");
            if (!overwrite)
                throw new FileExistsException(Child(name));
            if (WritableByOthers && !IsTrusted(old.Uid))
                throw Unsafe(Child(name), $"it belongs to user {old.Uid}, in a folder others can write",
                    "Remove that file (someone other than you put it there), or write to another path.");
        }

        var temp = $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        var file = Libc.OpenAt(_handle, temp, Libc.OWrOnly | Libc.OCreat | Libc.OExcl | Libc.ONoFollow, (uint)mode, out errno);
        if (file.IsInvalid)
        {
            file.Dispose();
            throw Io(Child(name), errno);
        }
        try
        {
            using (var stream = new FileStream(file, FileAccess.Write))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
                // The umask may have narrowed the mode; set it exactly (never wider than asked).
                Check(Libc.Fchmod(file, (uint)mode), name);
                if (keepOwner && existing is { IsRegular: true } kept && (kept.Uid != Libc.GetEuid() || kept.Gid != Libc.GetEgid()) && Libc.GetEuid() == 0)
                    Check(Libc.Fchown(file, kept.Uid, kept.Gid), name);
                Check(Libc.RenameAt(_handle, temp, name), name);
            }
            Libc.Fsync(_handle);
            return Child(name);
        }
        catch
        {
            Libc.UnlinkAt(_handle, temp);
            throw;
        }
    }

    /// <summary>A new file here that nobody else can have opened or linked: O_CREAT|O_EXCL|O_NOFOLLOW with <paramref name="mode"/>.</summary>
    public FileStream CreateNew(string name, UnixFileMode mode)
    {
        CheckName(name);
        var file = Libc.OpenAt(_handle, name, Libc.ORdWr | Libc.OCreat | Libc.OExcl | Libc.ONoFollow, (uint)mode, out var errno);
        if (file.IsInvalid)
        {
            file.Dispose();
            throw Io(Child(name), errno);
        }
        return new FileStream(file, FileAccess.ReadWrite);
    }

    /// <summary>Removes <paramref name="name"/> (a file; a link itself, never its target). False when it was not there.</summary>
    public bool Delete(string name)
    {
        CheckName(name);
        var errno = Libc.UnlinkAt(_handle, name);
        if (errno == Libc.ENoEnt) return false;
        if (errno != 0) throw Io(Child(name), errno);
        return true;
    }

    /// <summary>Removes an empty subdirectory; false when it was not there or not empty.</summary>
    public bool DeleteDirectory(string name)
    {
        CheckName(name);
        return Libc.UnlinkAt(_handle, name, directory: true) == 0;
    }

    public string Child(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Root and the running user: the owners whose files and links this process may trust.</summary>
    internal static bool IsTrusted(uint uid) => uid == 0 || uid == Libc.GetEuid();

    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// A final path component that is a symbolic link owned by another user, in a directory others can write, is
    /// refused (the kernel's protected_symlinks does the same for sticky world-writable directories when it is on).
    /// </summary>
    private static void RefusePlantedLink(string full)
    {
        var parent = System.IO.Path.GetDirectoryName(full);
        if (parent is null) return;
        var link = Libc.Stat(null, full, out _);
        if (link is not { IsSymlink: true } || IsTrusted(link.Value.Uid)) return;
        var parentFacts = Libc.Stat(null, parent, out _);
        if (parentFacts is { WritableByOthers: true } || parentFacts is { } p && !IsTrusted(p.Uid))
            throw Unsafe(full, $"it is a symbolic link of user {link.Value.Uid} in a folder others can write",
                "Remove the link (someone other than you may have planted it), or choose another folder.");
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name is "." or ".." || name.Contains('/') || name.Contains('\0'))
            throw new ArgumentException($"'{name}' is not a file name.", nameof(name));
    }

    private void Check(int errno, string name)
    {
        if (errno != 0) throw Io(Child(name), errno);
    }

    internal static IOException Io(string path, int errno, string? why = null) =>
        new($"'{path}': {why ?? Libc.Message(errno)}") { HResult = errno };

    internal static DindException Unsafe(string path, string why, string action) =>
        new(ErrorIds.HostPathUnsafe, DindErrorCategory.SecurityError,
            $"Refusing to write '{path}': {why}. Another user could use it to make this process write elsewhere.", path, null, action);
}

/// <summary>The target exists and overwriting was not asked for.</summary>
public sealed class FileExistsException : IOException
{
    public FileExistsException(string path) : base($"'{path}' already exists.") => Path = path;
    public string Path { get; }
}
