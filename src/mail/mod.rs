//! Mail: bytes to text. Parsing, the choice of body, HTML to text, quotes and
//! segments, and the Authentication-Results a receiving server wrote.

pub mod authres;
pub mod html;
pub mod message;
pub mod pattern;
pub mod quote;
