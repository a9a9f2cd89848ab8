import AlmanacCore
import Foundation
import Scheduling
import Testing

@Suite(.timeLimit(.minutes(10))) struct CronScheduleTests {
    @Test(arguments: [
        "0 7 * * *", "*/15 * * * *", "0 6 * * 1-5", "30 4 1 * *", "0 0 * jan,jul sun", "@daily", "5 4 * * 7",
    ])
    func parsesValidExpressions(_ text: String) throws {
        _ = try CronSchedule(parsing: text)
    }

    @Test(arguments: [
        ("0 7 * *", "has 4 fields"), ("60 * * * *", "minute 60 is out of range 0-59"),
        ("0 24 * * *", "hour 24 is out of range"), ("0 0 0 * *", "day of month 0 is out of range"),
        ("0 0 * 13 *", "month 13 is out of range"), ("0 0 * * funday", "'funday' is not a valid day of week"),
        ("*/0 * * * *", "bad step"), ("5-1 * * * *", "runs backwards"), ("@sometimes", "unknown cron shorthand"),
    ])
    func refusesInvalidExpressions(_ text: String, _ message: String) {
        #expect {
            try CronSchedule(parsing: text)
        } throws: { error in
            (error as? CronSchedule.ParseError)?.message.contains(message) == true
        }
    }

    @Test func nextFireFindsTheNextMatchingMinute() throws {
        let utc = TimeZone(identifier: "UTC")!
        let start = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 07:06:40 UTC, a Wednesday
        let daily = try CronSchedule(parsing: "30 4 * * *")
        #expect(daily.nextFire(after: start, in: utc) == Date(timeIntervalSince1970: 1_795_062_600))  // 19th 04:30
        let weekdays = try CronSchedule(parsing: "0 7 * * 1-5")
        #expect(weekdays.nextFire(after: start, in: utc) == Date(timeIntervalSince1970: 1_795_071_600))  // 19th 07:00
        let saturday = try CronSchedule(parsing: "0 9 * * sat")
        #expect(saturday.nextFire(after: start, in: utc) == Date(timeIntervalSince1970: 1_795_251_600))  // 21st 09:00
        let impossible = try CronSchedule(parsing: "0 0 31 2 *")
        #expect(impossible.nextFire(after: start, in: utc) == nil)
    }
}

@Suite(.timeLimit(.minutes(10))) struct ValueParsingTests {
    @Test func timeSpans() {
        #expect(TimeSpan(parsing: "26h")?.seconds == 93_600)
        #expect(TimeSpan(parsing: "2w")?.days == 14)
        #expect(TimeSpan(parsing: "0d") == nil)
        #expect(TimeSpan(parsing: "7") == nil)
        #expect(TimeSpan(parsing: "-3d") == nil)
        #expect(TimeSpan(parsing: "7d")?.description == "7d")
    }

    @Test func sqlIdentifiers() {
        #expect(SQLIdentifier("signed_up_at")?.quoted == "\"signed_up_at\"")
        #expect(SQLIdentifier("analytics.events", allowQualified: true)?.quoted == "\"analytics\".\"events\"")
        #expect(SQLIdentifier("analytics.events") == nil)
        #expect(SQLIdentifier("user id") == nil)
        #expect(SQLIdentifier("x\"; drop") == nil)
        #expect(SQLIdentifier("1abc") == nil)
        #expect(SQLIdentifier("select") == nil)
        #expect(SQLIdentifier("Select") == nil)
    }

    @Test func calendarDays() {
        let day = CalendarDay(parsing: "2024-02-29")
        #expect(day?.description == "2024-02-29")
        #expect(CalendarDay(parsing: "2025-02-29") == nil)
        #expect(CalendarDay(parsing: "1970-01-01")?.dayNumber == 0)
        #expect(CalendarDay(parsing: "2026-11-27")?.weekday == 5)  // a Friday
        #expect(day?.adding(days: 1).description == "2024-03-01")
    }

    @Test func didYouMean() {
        #expect(closestMatch(to: "descripton", in: ["description", "name"]) == "description")
        #expect(closestMatch(to: "grwoth", in: ["growth", "finance"]) == "growth")
        #expect(closestMatch(to: "zzz", in: ["description", "name"]) == nil)
    }
}
