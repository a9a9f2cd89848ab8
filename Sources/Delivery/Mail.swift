public import AlmanacCore
import CCurl
public import Foundation

/// Where and how e-mail is sent: an SMTP server reached through libcurl.
///
/// - Configuration keys (environment, or `almanac serve` options): `ALMANAC_SMTP_URL`
///   (`smtp://host:587`, or `smtps://host:465` for TLS from the start), `ALMANAC_SMTP_USER`,
///   `ALMANAC_SMTP_PASSWORD`, `ALMANAC_SMTP_FROM`, `ALMANAC_SMTP_TLS` (`required`, the default:
///   STARTTLS or fail; `optional`; `none`, for a local relay or a test sink only).
public struct SMTPConfiguration: Sendable, Hashable {
    public enum TLS: String, Sendable, Hashable, CaseIterable {
        case required, optional, none
    }
    public var url: String
    public var username: String?
    public var password: String?
    public var from: String
    public var tls: TLS
    /// Seconds for the whole conversation with the server.
    public var timeout: Int

    public init(
        url: String, username: String? = nil, password: String? = nil, from: String, tls: TLS = .required,
        timeout: Int = 30
    ) {
        self.url = url
        self.username = username
        self.password = password
        self.from = from
        self.tls = tls
        self.timeout = timeout
    }

    /// From `ALMANAC_SMTP_*` in `settings`; `nil` when no URL is set. Throws when a value is unusable.
    public static func from(_ settings: Settings = .process) throws(MailError) -> SMTPConfiguration? {
        guard let url = settings[.smtpURL] else { return nil }
        guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://") else {
            throw MailError("ALMANAC_SMTP_URL '\(url)' is not an smtp:// or smtps:// URL")
        }
        guard let from = settings[.smtpFrom] else {
            throw MailError("ALMANAC_SMTP_FROM is not set: say which address digests come from")
        }
        let tlsText = settings[.smtpTLS] ?? "required"
        guard let tls = TLS(rawValue: tlsText) else {
            throw MailError("ALMANAC_SMTP_TLS '\(tlsText)' is not one of required, optional, none")
        }
        return SMTPConfiguration(
            url: url, username: settings[.smtpUser], password: settings[.smtpPassword], from: from, tls: tls)
    }
}

/// A message could not be built or sent; the text says what and, for a server, what it answered.
public struct MailError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    /// The server's last reply code (550, 535…), when it answered one.
    public var replyCode: Int?
    /// Whether sending again cannot help: the server refused with a 5xx, or refused the login.
    public var isPermanent: Bool
    public init(_ description: String, replyCode: Int? = nil, isPermanent: Bool = false) {
        self.description = description
        self.replyCode = replyCode
        self.isPermanent = isPermanent
    }
}

/// An e-mail with a plain-text body and, usually, an HTML one (sent as multipart/alternative,
/// so every mail client shows one of them).
public struct MailMessage: Sendable, Hashable, Codable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var text: String
    public var html: String?
    /// Lets a reader's client thread and deduplicate: the delivery's idempotency key.
    public var messageID: String
    public var date: Date

    public init(
        from: String, to: [String], subject: String, text: String, html: String? = nil,
        messageID: String = "\(UUID().uuidString.lowercased())@almanac", date: Date = Date()
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageID = messageID
        self.date = date
    }

    /// The message as RFC 5322 text with MIME parts, CRLF line ends, bodies in base64.
    public func rendered() -> String {
        let boundary = "almanac-\(messageID.prefix(36).filter { $0.isLetter || $0.isNumber })"
        var lines = [
            "From: \(from)", "To: \(to.joined(separator: ", "))", "Subject: \(Self.encodedWord(subject))",
            "Date: \(Self.rfc2822(date))", "Message-ID: <\(messageID)>", "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
        ]
        func part(_ type: String, _ body: String) -> [String] {
            ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""] + Self.base64Lines(body)
        }
        if let html {
            lines += ["Content-Type: multipart/alternative; boundary=\"\(boundary)\"", "", "--\(boundary)"]
            lines += part("text/plain", text) + ["--\(boundary)"] + part("text/html", html) + ["--\(boundary)--"]
        } else {
            lines += part("text/plain", text)
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// A header value as an RFC 2047 encoded word when it is not plain ASCII.
    static func encodedWord(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 0x80 || $0 < 0x20 }) else { return text }
        return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            return String(
                encoded[from..<(encoded.index(from, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex)])
        }
    }

    static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

/// Sends mail through libcurl's SMTP client (STARTTLS, AUTH), off the cooperative threads.
public struct SMTPMailer: Sendable {
    public let configuration: SMTPConfiguration

    public init(configuration: SMTPConfiguration) { self.configuration = configuration }

    private static let initialized: Bool = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK }()

    /// Sends `message` to its recipients; throws with the server's answer when it refuses.
    public func send(_ message: MailMessage) async throws {
        let configuration = configuration
        let failure = await offloaded { () -> MailError? in
            do throws(MailError) {
                try Self.send(message, configuration: configuration)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    /// The bytes still to hand to libcurl, read through `CURLOPT_READDATA`.
    private final class Upload {
        let bytes: [UInt8]
        var offset = 0
        init(_ text: String) { bytes = Array(text.utf8) }
    }

    private static func send(_ message: MailMessage, configuration: SMTPConfiguration) throws(MailError) {
        guard initialized, let handle = curl_easy_init() else { throw MailError("libcurl could not be initialized") }
        defer { curl_easy_cleanup(handle) }
        var recipients: UnsafeMutablePointer<curl_slist>?
        for address in message.to { recipients = curl_slist_append(recipients, "<\(address)>") }
        defer { curl_slist_free_all(recipients) }
        let upload = Upload(message.rendered())
        let unmanaged = Unmanaged.passRetained(upload)
        defer { unmanaged.release() }
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { buffer in
            var setup = ccurl_setopt_string(handle, CURLOPT_URL, configuration.url)
            func set(_ result: CURLcode) { if setup == CURLE_OK { setup = result } }
            set(ccurl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(Self.address(configuration.from))>"))
            set(ccurl_setopt_pointer(handle, CURLOPT_MAIL_RCPT, UnsafeMutableRawPointer(recipients)))
            set(ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1))
            set(ccurl_setopt_long(handle, CURLOPT_TIMEOUT, configuration.timeout))
            set(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, min(10, configuration.timeout)))
            set(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            set(ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress))
            let tls: Int =
                switch configuration.tls {
                case .required: Int(CURLUSESSL_ALL.rawValue)
                case .optional: Int(CURLUSESSL_TRY.rawValue)
                case .none: Int(CURLUSESSL_NONE.rawValue)
                }
            set(ccurl_setopt_long(handle, CURLOPT_USE_SSL, tls))
            if let username = configuration.username { set(ccurl_setopt_string(handle, CURLOPT_USERNAME, username)) }
            if let password = configuration.password { set(ccurl_setopt_string(handle, CURLOPT_PASSWORD, password)) }
            set(ccurl_setopt_pointer(handle, CURLOPT_READDATA, unmanaged.toOpaque()))
            set(
                ccurl_setopt_read_function(handle) { destination, size, count, context in
                    guard let destination, let context else { return 0 }
                    let upload = Unmanaged<Upload>.fromOpaque(context).takeUnretainedValue()
                    let length = min(size * count, upload.bytes.count - upload.offset)
                    upload.bytes.withUnsafeBufferPointer { source in
                        UnsafeMutableRawPointer(destination).copyMemory(
                            from: source.baseAddress! + upload.offset, byteCount: length)
                    }
                    upload.offset += length
                    return length
                })
            guard setup == CURLE_OK else { return setup }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            let reply = ccurl_response_code(handle)
            throw MailError(
                "could not send '\(message.subject)' through \(redacted(configuration.url)): \(reason)"
                    + (reply > 0 ? " (server replied \(reply))" : ""),
                replyCode: reply > 0 ? reply : nil,
                // 5xx replies (unknown recipient, refused message, failed AUTH) are final; 4xx and
                // connection trouble are worth another try.
                isPermanent: reply >= 500 || code == CURLE_LOGIN_DENIED)
        }
    }

    /// The URL without a password, for errors, logs and pages.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = "***"
        return components.string ?? url
    }

    /// The bare address of `Name <address>` (or the text itself).
    static func address(_ text: String) -> String {
        guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close else { return text }
        return String(text[text.index(after: open)..<close])
    }
}
