//! [`DocsError`]: why the documentation could not be rendered.

/// Why the documentation could not be rendered (a mistake in a template; never user input).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocsError {
    /// `{{` without `}}`.
    #[error("{template}: `{{{{` without a closing `}}}}`")]
    Unterminated {
        /// The template.
        template: String,
    },
    /// A directive this renderer does not know.
    #[error("{template}: unknown directive `{{{{ {directive} }}}}`")]
    UnknownDirective {
        /// The template.
        template: String,
        /// The directive's text.
        directive: String,
    },
    /// A file that is not among [`DocsSource::files`](super::DocsSource::files).
    #[error(
        "{template}: `{path}` is not embedded; add it to the files of the provider's `DocsSource`"
    )]
    UnknownFile {
        /// The template.
        template: String,
        /// The requested path.
        path: String,
    },
    /// A type directive in a guide.
    #[error("{template}: `{directive}` only works on a type's page, not in a guide")]
    NoSubject {
        /// The template.
        template: String,
        /// The directive's text.
        directive: String,
    },
}
