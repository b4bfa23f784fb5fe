using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.SQS.Model;
using EcpayEvents.Testing;
using Microsoft.Playwright;

namespace EcpayEvents.EndToEnd.Tests;

/// <summary>The account page's transaction list and polling, and a checkout link used twice, in Chromium.</summary>
public sealed class WebPageTests
{
    [Fact]
    public async Task OlderRowsSurviveARefreshPollingIsConditionalAndACheckoutLinkWorksOnce()
    {
        await using var stack = await LocalStack.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(stack.PaymentsApi.ToString());
        var userId = await AccountPage.CreateUserAsync(page, "carol_web");
        // Twelve older deposits through the API, with the token the page signed in with.
        using var http = new HttpClient { BaseAddress = stack.PaymentsApi };
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        http.DefaultRequestHeaders.Authorization = new("Bearer", await AccountPage.AccessTokenAsync(page));
        var ids = new List<long>();
        for (var i = 0; i < 12; i++)
            ids.Add((await (await http.PostAsJsonAsync($"/users/{userId}/deposits", new { amount = 100 + i, paymentMethod = "Credit" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("transactionId").GetInt64());

        var polls = new ConcurrentBag<(string Url, bool Conditional)>();
        page.Request += (_, r) =>
        {
            if (r.Url.Contains("/transactions/", StringComparison.Ordinal) && !r.Url.Contains("/users/", StringComparison.Ordinal))
                polls.Add((r.Url, r.Headers.ContainsKey("if-none-match")));
        };
        var screenshots = Chromium.Screenshots;
        try
        {
            await page.ReloadAsync();
            var rows = page.Locator("#transactions tr");
            await Assertions.Expect(rows).ToHaveCountAsync(10);
            await page.Locator("#more").ClickAsync();
            await Assertions.Expect(rows).ToHaveCountAsync(12);

            // A deposit made on the page reloads the newest page: the two older rows stay.
            await page.GetByTestId("deposit-amount").FillAsync("500");
            await page.GetByTestId("deposit-method").SelectOptionAsync("Credit");
            await page.GetByTestId("deposit").ClickAsync();
            await Assertions.Expect(page.GetByTestId("checkout-link")).ToBeVisibleAsync();
            await Assertions.Expect(rows).ToHaveCountAsync(13);
            await Assertions.Expect(page.GetByTestId($"status-{ids[0]}")).ToHaveTextAsync("pending");

            // Pending rows are polled one by one, conditionally (If-None-Match after the first answer); a change shows up in place.
            await Poll.UntilAsync(() => polls.Any(p => p.Conditional), "a conditional poll (If-None-Match)");
            await stack.Db.ExecuteAsync("UPDATE transactions SET status = 'failed' WHERE id = @id", ("@id", ids[0]));
            // The page backs off to 15 s between polls while nothing changes.
            await Assertions.Expect(page.GetByTestId($"status-{ids[0]}")).ToHaveTextAsync("failed", new() { Timeout = 20_000 });
            await Assertions.Expect(rows).ToHaveCountAsync(13);

            // The checkout link: the first visit goes to ECPay (the sandbox); a second one says it was already sent.
            var checkoutUrl = await page.GetByTestId("checkout-link").GetAttributeAsync("href");
            await page.GetByTestId("checkout-link").ClickAsync();
            await Assertions.Expect(page.GetByTestId("pay-card")).ToBeVisibleAsync();
            await page.GotoAsync(checkoutUrl!);
            await Assertions.Expect(page.GetByTestId("error-title")).ToHaveTextAsync("This payment was already sent to ECPay");
            await Assertions.Expect(page.GetByTestId("status")).ToHaveTextAsync("pending");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "checkout-already-sent.png"), FullPage = true });
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "webpage-failure.png"), FullPage = true });
            throw;
        }
    }

    [Fact]
    public async Task AReturnPageForAPaymentAfterExpirySaysItIsBeingConfirmedThenShowsItCredited()
    {
        await using var stack = await LocalStack.StartAsync();
        // Below, Settlement is held back by a row lock while Chromium goes to ECPay's page and back, which can be slow on a
        // busy machine. Every delivery meanwhile fails after Settlement's 3 s lock wait, and this stack's queue would move
        // the result to its DLQ after 5 receives 5 s apart (about 25 s): allow many more receives for this test, so the
        // result is still on the queue whenever the lock is released.
        using (var sqs = stack.Sqs.CreateClient())
        {
            var attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = stack.Sqs.QueueUrl, AttributeNames = ["RedrivePolicy"] });
            var policy = JsonNode.Parse(attributes.Attributes["RedrivePolicy"])!.AsObject();
            policy["maxReceiveCount"] = 60;
            await sqs.SetQueueAttributesAsync(stack.Sqs.QueueUrl, new Dictionary<string, string> { ["RedrivePolicy"] = policy.ToJsonString() });
            attributes = await sqs.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = stack.Sqs.QueueUrl, AttributeNames = ["RedrivePolicy"] });
            Assert.Equal("60", JsonNode.Parse(attributes.Attributes["RedrivePolicy"])!["maxReceiveCount"]!.ToString());
        }
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.NewPageAsync();
        var screenshots = Chromium.Screenshots;
        try
        {
            await page.GotoAsync(stack.PaymentsApi.ToString());
            var userId = await AccountPage.CreateUserAsync(page, "dave_late");
            await page.GetByTestId("deposit-amount").FillAsync("300");
            await page.GetByTestId("deposit-method").SelectOptionAsync("Credit");
            await page.GetByTestId("deposit").ClickAsync();
            await page.GetByTestId("checkout-link").ClickAsync();
            await Assertions.Expect(page.GetByTestId("pay-card")).ToBeVisibleAsync();
            var tradeNo = await page.GetByTestId("merchant-trade-no").InnerTextAsync();

            // The deposit expires (as its timeout would) while the customer is still on ECPay's page; then they pay.
            // Settlement is held back by a row lock, so the browser sees "expired" first.
            await stack.Db.ExecuteAsync("UPDATE transactions SET status = 'expired' WHERE merchant_trade_no = @m", ("@m", tradeNo));
            await using (var hold = stack.Db.Open())
            {
                await using var lockTx = await hold.BeginTransactionAsync();
                await using (var select = new MySqlConnector.MySqlCommand("SELECT id FROM transactions WHERE merchant_trade_no = @m FOR UPDATE", hold, lockTx))
                {
                    select.Parameters.AddWithValue("@m", tradeNo);
                    await select.ExecuteScalarAsync();
                }
                await page.GetByTestId("pay-card").ClickAsync();
                await Assertions.Expect(page).ToHaveURLAsync(new Uri(stack.PaymentsApi, "/ecpay/order-result").ToString(), new() { Timeout = 45_000 });
                await Assertions.Expect(page.GetByTestId("status")).ToHaveTextAsync("expired");
                await Assertions.Expect(page.GetByTestId("ecpay-message")).ToContainTextAsync("being confirmed");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "return-page-being-confirmed.png"), FullPage = true });
                // The page has shown what it must while Settlement was held back: release the row at once.
                await lockTx.RollbackAsync();
            }

            // Settlement credits a late payment (flagged for review): the page keeps polling and shows it.
            await Assertions.Expect(page.GetByTestId("status")).ToHaveTextAsync("completed", new() { Timeout = 45_000 });
            await Assertions.Expect(page.GetByTestId("balance")).ToHaveTextAsync("300");
            Assert.Equal(300, await stack.Db.ScalarAsync<long>("SELECT balance FROM users WHERE id = @u", ("@u", userId)));
            Assert.NotNull(await stack.Db.ScalarAsync<string>("SELECT review_reason FROM transactions WHERE merchant_trade_no = @m", ("@m", tradeNo)));
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "return-page-paid-after-expiry.png"), FullPage = true });
            await stack.Db.AssertLedgerInvariantAsync();
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(screenshots, "late-failure.png"), FullPage = true });
            throw;
        }
    }
}
