//! Reads a capture and prints its frame count and error (developer aid).
use wiretale::capture::open;
fn main() {
    for p in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        match open(std::path::Path::new(&p)) {
            Ok(mut s) => {
                let mut n = 0u64;
                let mut bytes = 0u64;
                loop {
                    match s.next_frame() {
                        Ok(Some(f)) => {
                            n += 1;
                            bytes += f.data.len() as u64;
                        }
                        Ok(None) => break,
                        Err(e) => {
                            println!("{p}: error: {e}");
                            break;
                        }
                    }
                }
                println!("{p}: {n} frames, {bytes} bytes in {:?}", t.elapsed());
            }
            Err(e) => println!("{p}: {e}"),
        }
    }
}
