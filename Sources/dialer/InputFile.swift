import DialerCore
import Foundation

/// A file named on the command line. When it cannot be read the error says why, as the system does (no such file,
/// permission denied, a directory), as `invalid_request` naming the file; the operator fixes the path and runs again.
enum InputFile {
    /// Opens `path` for reading.
    /// - Parameter what: the file's role in messages ("the campaign file").
    static func openForReading(_ path: String, what: String) throws(OpenPhnError) -> FileHandle {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable(path, what: what, reason: reason(errno)) }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            close(descriptor)
            throw unreadable(path, what: what, reason: "it is a directory")
        }
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// The whole file.
    static func contents(of path: String, what: String) throws(OpenPhnError) -> Data {
        let handle = try openForReading(path, what: what)
        do {
            return try handle.readToEnd() ?? Data()
        } catch {
            throw unreadable(path, what: what, reason: (error as NSError).localizedDescription)
        }
    }

    static func unreadable(_ path: String, what: String, reason: String) -> OpenPhnError {
        OpenPhnError(.invalidRequest, "cannot read \(what) \(path): \(reason)", details: ["file": .string(path), "reason": .string(reason)])
    }

    private static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file"
        case EACCES: "permission denied"
        case ENOTDIR: "a part of the path is not a directory"
        default: String(cString: strerror(code)).lowercased()
        }
    }
}
