// Errors cross every boundary of the engine as values. The engine never throws, exits or aborts on
// bad input: under Emscripten an exception would abort the whole module, and with it the page.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace gpt {

template <class T>
class Result {
  public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose (return value;)
    static Result fail(std::string message) {
        Result r;
        r.error_ = std::move(message);
        return r;
    }
    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }
    const std::string& error() const { return error_; }
    T& value() { return *value_; }
    const T& value() const { return *value_; }
    T* operator->() { return &*value_; }
    const T* operator->() const { return &*value_; }
    T&& take() { return std::move(*value_); }

  private:
    Result() = default;
    std::optional<T> value_;
    std::string error_;
};

// For operations that return nothing but can fail: an empty message means success.
struct Status {
    std::string error;
    bool ok() const { return error.empty(); }
    explicit operator bool() const { return ok(); }
    static Status success() { return {}; }
    static Status fail(std::string message) { return {std::move(message)}; }
};

}  // namespace gpt
