using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace EcpayEvents.Hosting;

/// <summary>
/// The last word on any request that failed: a request Kestrel could not read (a malformed chunked
/// body, a body over the route's limit) is its 4xx, anything else a 500 — both as problem details that
/// never carry the exception (whatever the environment), and whatever the client's Accept header says.
/// </summary>
public static class ServiceProblems
{
    /// <summary>
    /// Handles exceptions the service's own <see cref="IExceptionHandler"/>s leave (those run first).
    /// Comes before the endpoints, so it also wins over the developer exception page.
    /// </summary>
    public static WebApplication UseServiceProblems(this WebApplication app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = WriteAsync,
            // A client's malformed or oversized body is its answer (4xx), not an error with a stack trace in the log.
            SuppressDiagnosticsCallback = static c => c.Exception is BadHttpRequestException,
        });
        app.Use(static (context, next) =>
        {
            context.Request.Body = new ClientBodyStream(context.Request.Body, context.RequestAborted);
            return next(context);
        });
        return app;
    }

    private static Task WriteAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        // Anything else is a 500 that says nothing; the exception handler middleware logs the exception
        // (with the request's scope).
        var problem = exception is BadHttpRequestException bad
            ? new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The request body is too large." : "The request could not be read.",
                Detail = bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? "The body is larger than this route accepts."
                    : "The request is not well-formed HTTP (for example a malformed chunked body).",
            }
            : new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "Something went wrong on our side.",
                Detail = "Nothing about it is shown here; it is logged. Try again later.",
            };
        return WriteAsync(context, problem);
    }

    /// <summary>
    /// Writes <paramref name="problem"/> as application/problem+json. Unlike
    /// IProblemDetailsService.WriteAsync, which throws when the Accept header matches no writer (a
    /// browser's text/html), it falls back to JSON.
    /// </summary>
    public static Task WriteAsync(HttpContext context, ProblemDetails problem)
    {
        context.Response.StatusCode = problem.Status ?? StatusCodes.Status500InternalServerError;
        return TypedResults.Problem(problem).ExecuteAsync(context);
    }
}
