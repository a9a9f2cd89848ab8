import AlmanacCore
import AlmanacTestSupport
import Delivery
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized, .timeLimit(.minutes(10))) struct MailTests {
    @Test func aDigestReachesARealSMTPServerAsTextAndHTML() async throws {
        try await SMTPSink.run { sink in
            let mailer = SMTPMailer(
                configuration: SMTPConfiguration(
                    url: "smtp://127.0.0.1:\(sink.port)", from: "Almanac <almanac@larkspur.io>", tls: .none,
                    timeout: 600))
            let message = MailMessage(
                from: "Almanac <almanac@larkspur.io>", to: ["priya.raman@larkspur.io", "growth@larkspur.io"],
                subject: "Daily sign-ups — 1,204 yesterday ▲ 8%", text: "Sign-ups: 1,204\nInvites: 311\n",
                html: "<p><strong>Sign-ups</strong>: 1,204 <span style=\"color:#1f7a3a\">▲ 8%</span></p>",
                messageID: "subscription.daily-signups.2026-11-27@almanac")
            try await mailer.send(message)
            let delivered = try sink.delivered()
            let raw = try #require(delivered.first)
            #expect(raw.contains("X-MailFrom: almanac@larkspur.io"))
            #expect(raw.contains("X-RcptTo: priya.raman@larkspur.io, growth@larkspur.io"))
            #expect(raw.contains("Message-ID: <subscription.daily-signups.2026-11-27@almanac>"))
            #expect(raw.contains("Subject: =?UTF-8?B?"), "a non-ASCII subject is an encoded word")
            #expect(raw.contains("Content-Type: multipart/alternative;"))
            // Both bodies arrive intact (base64, decoded here).
            let decoded = SMTPSink.decodedBodies(raw)
            #expect(decoded.contains(message.text))
            #expect(decoded.contains(message.html!))
        }
    }

    @Test func aRefusedRecipientIsAPermanentFailureAndAPasswordNeverShows() async throws {
        try await SMTPSink.run { sink in
            let mailer = SMTPMailer(
                configuration: SMTPConfiguration(
                    url: "smtp://almanac:s3cret@127.0.0.1:\(sink.port)", from: "a@larkspur.io", tls: .none,
                    timeout: 600))
            do {
                try await mailer.send(
                    MailMessage(from: "a@larkspur.io", to: ["nobody@larkspur.io"], subject: "x", text: "x"))
                Issue.record("the sink accepted an unknown mailbox")
            } catch let error as MailError {
                #expect(error.replyCode == 550 && error.isPermanent, "\(error)")
                #expect(!error.description.contains("s3cret") && error.description.contains("***"))
            }
            // Through the transport the outbox uses: permanent, so it is not retried.
            do {
                try await MailTransport.smtp(mailer).send(
                    MailMessage(from: "a@larkspur.io", to: ["nobody@larkspur.io"], subject: "x", text: "x"))
                Issue.record("the transport accepted a refused message")
            } catch let error as TransportError {
                if case .temporary = error { Issue.record("a 550 was taken as temporary: \(error)") }
            }
        }
    }

    @Test func refusalsAndUnreachableServersAreClearErrors() async throws {
        try await SMTPSink.run { sink throws in
            // The sink offers no STARTTLS: with TLS required nothing is sent in the clear.
            let strict = SMTPMailer(
                configuration: SMTPConfiguration(
                    url: "smtp://127.0.0.1:\(sink.port)", from: "a@larkspur.io", timeout: 600))
            await #expect(throws: MailError.self) {
                try await strict.send(
                    MailMessage(from: "a@larkspur.io", to: ["b@larkspur.io"], subject: "x", text: "x"))
            }
            #expect(try sink.delivered().isEmpty)
        }
        let nowhere = SMTPMailer(
            configuration: SMTPConfiguration(url: "smtp://127.0.0.1:9", from: "a@larkspur.io", tls: .none, timeout: 600)
        )
        do {
            try await nowhere.send(MailMessage(from: "a@larkspur.io", to: ["b@larkspur.io"], subject: "x", text: "x"))
            Issue.record("sending to a closed port succeeded")
        } catch let error as MailError {
            #expect(error.description.contains("smtp://127.0.0.1:9"), "\(error)")
        }
    }

    @Test func theConfigurationComesFromTheEnvironmentWithClearErrors() throws {
        #expect(try SMTPConfiguration.from(Settings([:])) == nil)
        let configuration = try SMTPConfiguration.from(
            Settings([
                "ALMANAC_SMTP_URL": "smtp://mail.larkspur.io:587", "ALMANAC_SMTP_FROM": "almanac@larkspur.io",
                "ALMANAC_SMTP_USER": "almanac", "ALMANAC_SMTP_PASSWORD": "secret",
            ]))
        #expect(configuration?.tls == .required && configuration?.username == "almanac")
        #expect(throws: MailError("ALMANAC_SMTP_URL 'mail.larkspur.io' is not an smtp:// or smtps:// URL")) {
            try SMTPConfiguration.from(Settings(["ALMANAC_SMTP_URL": "mail.larkspur.io"]))
        }
        #expect(throws: MailError("ALMANAC_SMTP_TLS 'maybe' is not one of required, optional, none")) {
            try SMTPConfiguration.from(
                Settings([
                    "ALMANAC_SMTP_URL": "smtp://x:25", "ALMANAC_SMTP_FROM": "a@b.c", "ALMANAC_SMTP_TLS": "maybe",
                ]))
        }
    }
}
