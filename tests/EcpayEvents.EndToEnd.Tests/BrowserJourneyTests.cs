using System.Text.RegularExpressions;
using EcpayEvents.Testing;
using Microsoft.Playwright;

namespace EcpayEvents.EndToEnd.Tests;

/// <summary>
/// A person's journey in Debian's Chromium: create a user, deposit by card, pay on the (sandbox) ECPay
/// page, come back to the return page, which shows "completed" only after the real chain settled it
/// (sandbox → Notifications → SQS → runner → Settlement → MariaDB), then see the balance and withdraw.
/// </summary>
public sealed class BrowserJourneyTests
{
    [Fact]
    public async Task ACardDepositPaidInTheSandboxIsSettledAndShownOnTheReturnPage()
    {
        await using var stack = await LocalStack.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var screenshots = Chromium.Screenshots;

        try
        {
            // 1. Sign up and create a user on the web page.
            await page.GotoAsync(stack.PaymentsApi.ToString());
            var userId = await AccountPage.CreateUserAsync(page, "alice_e2e");
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("0");

            // 2. Deposit 300 TWD by card and go to checkout (our self-submitting form → the sandbox's page).
            await page.GetByTestId("deposit-amount").FillAsync("300");
            await page.GetByTestId("deposit-method").SelectOptionAsync("Credit");
            await page.GetByTestId("deposit").ClickAsync();
            await Assertions.Expect(page.GetByTestId("checkout-link")).ToBeVisibleAsync();
            await page.GetByTestId("checkout-link").ClickAsync();
            await Assertions.Expect(page.GetByTestId("pay-card")).ToBeVisibleAsync();
            var tradeNo = await page.GetByTestId("merchant-trade-no").InnerTextAsync();

            // 3. Pay; ECPay (the sandbox) posts the browser back to OrderResultURL.
            await page.GetByTestId("pay-card").ClickAsync();
            // Poll the URL rather than wait for a load event: the sandbox auto-posts the browser here, and under
            // load the event can be missed or late even though the page is there.
            await Assertions.Expect(page).ToHaveURLAsync(new Uri(stack.PaymentsApi, "/ecpay/order-result").ToString(), new() { Timeout = 45_000 });
            await Assertions.Expect(page.GetByTestId("merchant-trade-no")).ToHaveTextAsync(tradeNo);

            // 4. The return page polls until the ledger says completed, then shows the balance.
            await Assertions.Expect(page.GetByTestId("status")).ToHaveTextAsync("completed", new() { Timeout = 45_000 });
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("300");
            var shot = Path.Combine(screenshots, "return-page-completed.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            TestContext.Current.SendDiagnosticMessage($"screenshot: {shot}");
            Console.WriteLine($"screenshot: {shot}");

            Assert.Equal("completed", await stack.Db.ScalarAsync<string>("SELECT status FROM transactions WHERE merchant_trade_no = @m", ("@m", tradeNo)));
            Assert.Equal(300, await stack.Db.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", userId)));

            // 5. Back on the account page: the balance is there; withdraw some, and not more than there is.
            await page.GetByTestId("back").ClickAsync();
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("300");
            await page.GetByTestId("withdraw-amount").FillAsync("120");
            await page.GetByTestId("withdraw").ClickAsync();
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("180");
            await page.GetByTestId("withdraw-amount").FillAsync("1000");
            await page.GetByTestId("withdraw").ClickAsync();
            await Assertions.Expect(page.GetByTestId("withdraw-error")).ToContainTextAsync("Insufficient balance");
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("180");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "account-after-withdrawal.png"), FullPage = true });

            Assert.Equal(180, await stack.Db.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", userId)));
            await stack.Db.AssertLedgerInvariantAsync();
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "failure.png"), FullPage = true });
            Console.WriteLine($"failure screenshot: {Path.Combine(screenshots, "failure.png")}; runner log: {stack.RunnerLog}");
            throw;
        }
    }
}

/// <summary>
/// Two people signed in side by side (two browser contexts): each sees and moves only their own money,
/// and neither page can reach the other's user or transactions, even by asking for their ids. An expired
/// access token is refreshed without signing in again.
/// </summary>
public sealed class TwoUsersSideBySideTests
{
    [Fact]
    public async Task NeitherCanSeeOrMoveTheOthersMoney()
    {
        await using var stack = await LocalStack.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var alice = await chromium.NewPageAsync(); // each page is its own browser context (own storage)
        var bob = await chromium.NewPageAsync();
        try
        {
            await alice.GotoAsync(stack.PaymentsApi.ToString());
            await bob.GotoAsync(stack.PaymentsApi.ToString());
            var aliceId = await AccountPage.CreateUserAsync(alice, "alice_side");
            var bobId = await AccountPage.CreateUserAsync(bob, "bob_side");
            await stack.Db.ExecuteAsync("""
                INSERT INTO transactions (user_id, type, amount, status, merchant_trade_no, payment_method) VALUES (@u, 'deposit', 500, 'completed', 'SIDEBYSIDEALICE00001', 'Credit');
                INSERT INTO ledger_entries (user_id, transaction_id, amount) VALUES (@u, LAST_INSERT_ID(), 500);
                UPDATE users SET balance = balance + 500 WHERE id = @u;
                """, ("@u", aliceId));
            var aliceDeposit = await stack.Db.ScalarAsync<long>("SELECT id FROM transactions WHERE user_id = @u", ("@u", aliceId));
            await alice.ReloadAsync();
            await Assertions.Expect(alice.GetByTestId("balance")).ToHaveTextAsync("500");
            await Assertions.Expect(alice.GetByTestId($"status-{aliceDeposit}")).ToHaveTextAsync("completed");

            // Bob's page: his own empty account; none of Alice's rows, name or order.
            await bob.ReloadAsync();
            await Assertions.Expect(bob.GetByTestId("user-id")).ToHaveTextAsync(bobId.ToString());
            await Assertions.Expect(bob.GetByTestId("balance")).ToHaveTextAsync("0");
            await Assertions.Expect(bob.Locator("#transactions tr")).ToHaveCountAsync(0);
            var bobHtml = await bob.ContentAsync();
            Assert.DoesNotContain("alice", bobHtml, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("SIDEBYSIDEALICE", bobHtml);

            // With Bob's token, Alice's ids are missing ones, and her money cannot be withdrawn.
            var probe = await bob.EvaluateAsync<int[]>($$"""
                async () => {
                  const t = JSON.parse(localStorage.getItem('ecpayEvents.session')).accessToken;
                  const h = { Authorization: 'Bearer ' + t, Accept: 'application/json', 'Content-Type': 'application/json' };
                  return [
                    (await fetch('/users/{{aliceId}}', { headers: h })).status,
                    (await fetch('/users/{{aliceId}}/transactions', { headers: h })).status,
                    (await fetch('/transactions/{{aliceDeposit}}', { headers: h })).status,
                    (await fetch('/users/{{aliceId}}/withdrawals', { method: 'POST', headers: h, body: '{"amount":100}' })).status,
                    (await fetch('/users/{{aliceId}}/deposits', { method: 'POST', headers: h, body: '{"amount":100,"paymentMethod":"Credit"}' })).status,
                  ];
                }
                """);
            Assert.Equal([404, 404, 404, 404, 404], probe);

            // Each withdraws from their own balance only.
            await alice.GetByTestId("withdraw-amount").FillAsync("120");
            await alice.GetByTestId("withdraw").ClickAsync();
            await Assertions.Expect(alice.GetByTestId("balance")).ToHaveTextAsync("380");
            await bob.GetByTestId("withdraw-amount").FillAsync("1");
            await bob.GetByTestId("withdraw").ClickAsync();
            await Assertions.Expect(bob.GetByTestId("withdraw-error")).ToContainTextAsync("Insufficient balance");
            // An access token that expired (here: about to, and no longer accepted) is refreshed with the
            // refresh token (REFRESH_TOKEN_AUTH) before the page's next call: Alice stays signed in.
            var before = await AccountPage.AccessTokenAsync(alice);
            await alice.EvaluateAsync("() => { const s = JSON.parse(localStorage.getItem('ecpayEvents.session')); s.accessToken = 'expired'; s.expiresAt = Date.now() - 1000; localStorage.setItem('ecpayEvents.session', JSON.stringify(s)); }");
            await alice.ReloadAsync();
            await Assertions.Expect(alice.GetByTestId("balance")).ToHaveTextAsync("380");
            var after = await AccountPage.AccessTokenAsync(alice);
            Assert.NotEqual("expired", after);
            Assert.NotEqual(before, after);
            await alice.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "side-by-side-alice.png"), FullPage = true });
            await bob.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "side-by-side-bob.png"), FullPage = true });

            Assert.Equal(380, await stack.Db.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", aliceId)));
            Assert.Equal(0, await stack.Db.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", bobId)));
            Assert.Equal(0, await stack.Db.ScalarAsync<long>("SELECT COUNT(*) FROM transactions WHERE user_id = @u", ("@u", bobId)));
            await stack.Db.AssertLedgerInvariantAsync();
        }
        catch
        {
            await alice.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "side-by-side-failure-alice.png"), FullPage = true });
            await bob.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Chromium.Screenshots, "side-by-side-failure-bob.png"), FullPage = true });
            throw;
        }
    }
}

public sealed class AtmJourneyTests
{
    [Fact]
    public async Task AnAtmDepositShowsItsAccountNumberAndCompletesWhenPaidLater()
    {
        await using var stack = await LocalStack.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var screenshots = Chromium.Screenshots;
        try
        {
            await page.GotoAsync(stack.PaymentsApi.ToString());
            await AccountPage.CreateUserAsync(page, "bob_atm");

            await page.GetByTestId("deposit-amount").FillAsync("2000");
            await page.GetByTestId("deposit-method").SelectOptionAsync("ATM");
            await page.GetByTestId("deposit").ClickAsync();
            await page.GetByTestId("checkout-link").ClickAsync();
            var tradeNo = await page.GetByTestId("merchant-trade-no").InnerTextAsync();
            await page.GetByTestId("get-atm").ClickAsync();
            var account = await page.GetByTestId("v-account").InnerTextAsync();

            // Back at the shop: the deposit is pending, with the account to pay into (from PaymentInfoURL, settled).
            await page.GetByTestId("back-to-shop").ClickAsync();
            var id = await stack.Db.ScalarAsync<long>("SELECT id FROM transactions WHERE merchant_trade_no = @m", ("@m", tradeNo));
            await Assertions.Expect(page.GetByTestId($"pay-with-{id}")).ToContainTextAsync(account);
            await Assertions.Expect(page.GetByTestId($"status-{id}")).ToHaveTextAsync("pending");

            // The customer pays at an ATM later; the page (polling while pending) shows it completed.
            using var http = new HttpClient();
            (await http.PostAsync(new Uri(stack.Sandbox, $"/sandbox/orders/{tradeNo}/pay"),
                new StringContent("""{"method":"paid"}""", System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            await Assertions.Expect(page.GetByTestId($"status-{id}")).ToHaveTextAsync("completed", new() { Timeout = 45_000 });
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("2000");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "atm-completed.png"), FullPage = true });
            await stack.Db.AssertLedgerInvariantAsync();
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "atm-failure.png"), FullPage = true });
            throw;
        }
    }
}

public sealed class DeclinedCardJourneyTests
{
    /// <summary>
    /// A deposit left unpaid is still payable from its row after a reload (its checkout link was never used);
    /// the card is declined at ECPay (the sandbox): the return page shows "failed" once Settlement applied
    /// ECPay's RtnCode ≠ 1 result, nothing is credited, and the row can no longer be paid. Signing out
    /// leaves nothing of the user on the page; signing in again shows it all.
    /// </summary>
    [Fact]
    public async Task ADeclinedCardEndsFailedOnTheReturnPageAndCreditsNothing()
    {
        await using var stack = await LocalStack.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var screenshots = Chromium.Screenshots;
        try
        {
            await page.GotoAsync(stack.PaymentsApi.ToString());
            var userId = await AccountPage.CreateUserAsync(page, "dave_declined");

            await page.GetByTestId("deposit-amount").FillAsync("250");
            await page.GetByTestId("deposit-method").SelectOptionAsync("Credit");
            await page.GetByTestId("deposit").ClickAsync();
            await Assertions.Expect(page.GetByTestId("checkout-link")).ToBeVisibleAsync();
            var id = await stack.Db.ScalarAsync<long>("SELECT id FROM transactions WHERE user_id = @u", ("@u", userId));

            // After a reload the deposit's own row carries the way to pay it.
            await page.ReloadAsync();
            await Assertions.Expect(page.GetByTestId("checkout-link")).ToBeHiddenAsync();
            await page.GetByTestId($"pay-{id}").ClickAsync();
            await Assertions.Expect(page.GetByTestId("fail-card")).ToBeVisibleAsync();

            await page.GetByTestId("fail-card").ClickAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Uri(stack.PaymentsApi, "/ecpay/order-result").ToString(), new() { Timeout = 45_000 });
            await Assertions.Expect(page.GetByTestId("status")).ToHaveTextAsync("failed", new() { Timeout = 45_000 });
            await Assertions.Expect(page.Locator("body")).ToContainTextAsync("The payment failed");
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("0");
            var shot = Path.Combine(screenshots, "return-page-declined.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
            Console.WriteLine($"screenshot: {shot}");

            // Back on the account page: failed, nothing to pay any more, balance unchanged.
            await page.GetByTestId("back").ClickAsync();
            await Assertions.Expect(page.GetByTestId($"status-{id}")).ToHaveTextAsync("failed");
            await Assertions.Expect(page.GetByTestId($"pay-{id}")).ToHaveCountAsync(0);
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("0");

            // Signing out leaves nothing of Dave on the page; another person sees only their own account;
            // Dave signing in again finds his failed deposit.
            var dave = await page.GetByTestId("signed-in-as").InnerTextAsync();
            await AccountPage.SignOutIfSignedInAsync(page);
            await Assertions.Expect(page.Locator("#transactions tr")).ToHaveCountAsync(0);
            await Assertions.Expect(page.GetByTestId("user-id")).ToBeEmptyAsync();
            Assert.DoesNotContain(dave, await page.ContentAsync());
            var erin = await AccountPage.CreateUserAsync(page, "erin_other");
            Assert.NotEqual(userId, erin);
            await Assertions.Expect(page.Locator("#transactions tr")).ToHaveCountAsync(0);
            await AccountPage.SignInAsync(page, dave);
            await Assertions.Expect(page.GetByTestId("user-id")).ToHaveTextAsync(userId.ToString());
            await Assertions.Expect(page.GetByTestId($"status-{id}")).ToHaveTextAsync("failed");

            Assert.Equal("failed", await stack.Db.ScalarAsync<string>("SELECT status FROM transactions WHERE id = @id", ("@id", id)));
            Assert.Equal(0, await stack.Db.ScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries WHERE user_id = @u", ("@u", userId)));
            Assert.Equal("10100058", await stack.Db.ScalarAsync<string>(
                "SELECT JSON_UNQUOTE(JSON_EXTRACT(raw_fields, '$.RtnCode')) FROM payment_events WHERE transaction_id = @id AND source = 'ReturnURL'", ("@id", id)));
            await stack.Db.AssertLedgerInvariantAsync();
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "declined-failure.png"), FullPage = true });
            Console.WriteLine($"runner log: {stack.RunnerLog}");
            throw;
        }
    }
}

/// <summary>Steps on the account page (PaymentsApi's web page).</summary>
internal static class AccountPage
{
    public const string Password = "Correct-horse-42";

    /// <summary>
    /// Signs a new person up on the page (signing out whoever was signed in; the local stack confirms the
    /// account at once), creates their user with the form (email: the username at example.com, made unique)
    /// and returns the id the page shows.
    /// </summary>
    public static async Task<long> CreateUserAsync(IPage page, string username) => (await SignUpAndCreateAsync(page, username)).Id;

    public static async Task<(long Id, string Email)> SignUpAndCreateAsync(IPage page, string username)
    {
        await SignOutIfSignedInAsync(page);
        var email = $"{username.Replace('_', '.')}.{Guid.NewGuid().ToString("N")[..6]}@example.com";
        await page.GetByTestId("signup-email").FillAsync(email);
        await page.GetByTestId("signup-password").FillAsync(Password);
        await page.GetByTestId("sign-up").ClickAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync(email);
        await Assertions.Expect(page.GetByTestId("email")).ToHaveValueAsync(email);
        await page.GetByTestId("username").FillAsync(username);
        await page.GetByTestId("create-user").ClickAsync();
        var shown = page.GetByTestId("user-id");
        await Assertions.Expect(shown).ToHaveTextAsync(new Regex("^[0-9]+$"));
        return (long.Parse(await shown.InnerTextAsync()), email);
    }

    public static async Task SignInAsync(IPage page, string email)
    {
        await SignOutIfSignedInAsync(page);
        await page.GetByTestId("signin-email").FillAsync(email);
        await page.GetByTestId("signin-password").FillAsync(Password);
        await page.GetByTestId("sign-in").ClickAsync();
        await Assertions.Expect(page.GetByTestId("signed-in-as")).ToHaveTextAsync(email);
    }

    public static async Task SignOutIfSignedInAsync(IPage page)
    {
        // The page decides first (a session in this browser or not).
        await page.WaitForFunctionAsync("() => !document.getElementById('signed-in').hidden || !document.getElementById('signed-out').hidden");
        if (await page.GetByTestId("sign-out").IsVisibleAsync())
        {
            await page.GetByTestId("sign-out").ClickAsync();
            await Assertions.Expect(page.GetByTestId("sign-up")).ToBeVisibleAsync();
        }
    }

    /// <summary>The signed-in user's access token, as the page keeps it.</summary>
    public static Task<string> AccessTokenAsync(IPage page) =>
        page.EvaluateAsync<string>("() => JSON.parse(localStorage.getItem('ecpayEvents.session')).accessToken");
}
